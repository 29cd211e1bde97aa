"""Years roll over by themselves (issue 14, point 3): a plan year opens with its first data window, the scheduler
creates and announces its obligations as business time reaches it (never ahead), and the ladder, intake, the board
and the totals work for that year as for 2019. Pure code and handlers with the recording fakes."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from services.aggregator import handlers as aggregator
from services.intake import handlers as intake
from services.intake.domain import PeriodNotOpen
from services.scheduler import handlers as scheduler
from services.scheduler.domain import obligations_for_plan
from shared.auth import Principal
from shared.catalogue import validate_envelope
from shared.clock import FixedClock
from shared.events import Event
from shared.plan import Plan, Unit, load_plan, parse_plan
from shared.plan_versions import VersionedPlan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ, local_iso, parse_instant
from tests.unit.fakes import FakeBoardStore, FakeObligationStore, FakePassStore, FakeReportStore, report_event

PLAN_DIR = ROOT / "plans" / "tra-vinh-2019"
PLAN = load_plan(PLAN_DIR)
UNITS = 29
YEAR_2020 = ("2020-Q1", "2020-H1", "2020-Q3", "2020-FY")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


ISSUED = at(2019, 3, 14)
OPENS_2020 = at(2019, 12, 15)


def delivered(event: Event) -> Event:
    return validate_envelope(json.loads(json.dumps(event.to_dict())))


def keys(periods: tuple) -> list[str]:
    return [p.key for p in periods]


# --- the plan: when a year opens --------------------------------------------------------------------------------


def test_a_year_opens_with_its_first_data_window_and_the_first_year_when_the_plan_takes_effect() -> None:
    assert PLAN.year_opens_at(2019) == ISSUED  # its windows opened on 15/12/2018, before the plan existed
    assert PLAN.year_opens_at(2020) == OPENS_2020  # Q1, H1 and FY 2020 all count from 15/12/2019
    assert PLAN.year_opens_at(2021) == at(2020, 12, 15)
    assert PLAN.year_opens_at(2018) is None
    assert local_iso(PLAN.year_opens_at(2020)) == "2019-12-15T00:00:00+07:00"


def test_the_open_periods_grow_a_year_at_a_time_as_business_time_reaches_it() -> None:
    assert PLAN.open_periods(ISSUED - timedelta(seconds=1)) == ()
    first = ["2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"]
    assert keys(PLAN.open_periods(ISSUED)) == first
    assert keys(PLAN.open_periods(OPENS_2020 - timedelta(microseconds=1))) == first
    assert keys(PLAN.open_periods(OPENS_2020)) == [*first, *YEAR_2020]
    assert PLAN.open_years(at(2021, 12, 14, 23)) == (2019, 2020, 2021)
    assert PLAN.open_years(at(2021, 12, 15)) == (2019, 2020, 2021, 2022)


def test_periods_opening_in_a_pass_window_are_those_of_the_years_opened_in_it() -> None:
    assert keys(PLAN.periods_opening(at(2019, 12, 14, 23, 59), OPENS_2020)) == list(YEAR_2020)
    assert PLAN.periods_opening(OPENS_2020, at(2020, 3, 12)) == ()
    assert PLAN.periods_opening(at(2019, 12, 1), at(2019, 12, 14)) == ()
    assert keys(PLAN.periods_opening(at(2019, 12, 1), at(2021, 1, 1))) == [
        *YEAR_2020,
        *(f"2021-{s}" for s in "Q1 H1 Q3 FY".split()),
    ]
    assert keys(PLAN.periods_opening(None, ISSUED)) == keys(PLAN.open_periods(ISSUED))


def test_a_period_is_open_once_its_year_is_and_only_when_it_demands_a_report() -> None:
    q1, q2 = PLAN.period("2020-Q1"), PLAN.period("2020-Q2")
    assert q1 is not None and q2 is not None
    assert not PLAN.is_open(q1, OPENS_2020 - timedelta(seconds=1)) and PLAN.is_open(q1, OPENS_2020)
    assert not PLAN.is_open(q2, at(2020, 7, 1))  # served by 2020-H1: nothing to report for it
    assert PLAN.opened_period("2020-Q2", at(2020, 7, 1)) == q2  # the board still knows it (not applicable)
    assert PLAN.opened_period("2020-Q1", at(2019, 12, 14)) is None
    assert PLAN.opened_period("2031-Q1", at(2020, 7, 1)) is None and PLAN.opened_period("bogus", OPENS_2020) is None


def test_a_plan_that_ends_opens_no_year_after_its_end() -> None:
    raw = json.loads((PLAN_DIR / "plan.json").read_text(encoding="utf-8"))
    raw["calendar_rules"]["effective_until"] = "2025-07-01"
    ending = parse_plan(raw, json.loads((PLAN_DIR / "indicators.json").read_text(encoding="utf-8")))
    assert ending.open_years(at(2030, 1, 1)) == (2019, 2020, 2021, 2022, 2023, 2024, 2025)
    assert keys(ending.obligation_periods(2025)) == ["2025-Q1", "2025-H1"]
    assert ending.year_opens_at(2026) is None


def test_a_plan_without_rules_opens_its_one_calendar_year_at_its_issue_date() -> None:
    merger = load_plan(ROOT / "tests" / "plans" / "merger-2025")
    assert merger.year_opens_at(2025) == at(2025, 1, 2)
    assert keys(merger.open_periods(at(2025, 1, 2))) == ["2025-Q1", "2025-H1", "2025-Q3"]
    assert merger.open_years(at(2027, 1, 1)) == (2025,)


# --- the scheduler opens years ----------------------------------------------------------------------------------


def synced(when: datetime = ISSUED) -> FakeObligationStore:
    obligations = FakeObligationStore()
    scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(when))
    return obligations


def step(obligations: FakeObligationStore, passes: FakePassStore, when: datetime, plan: Plan = PLAN) -> list[Event]:
    """One pass at `when`; the events it stored."""
    before = {e.id for e in obligations.events()}
    scheduler.run_pass(plans=[VersionedPlan(plan)], obligations=obligations, passes=passes, clock=FixedClock(when))
    return [e for e in obligations.events() if e.id not in before]


def periods_of(events: list[Event], type_: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in events:
        if e.type == type_:
            out[e.data["period"]] = out.get(e.data["period"], 0) + 1
    return out


def test_the_start_creates_the_years_opened_by_now_and_nothing_ahead() -> None:
    obligations = synced(ISSUED)
    assert periods_of(obligations.events(), "obligation.created") == dict.fromkeys(
        ("2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"), UNITS
    )
    late_start = FakeObligationStore()
    assert scheduler.sync_plan(PLAN, obligations=late_start, clock=FixedClock(at(2020, 3, 12, 9))) == 8 * UNITS
    created = late_start.events("obligation.created")
    assert {e.data["period"] for e in created} == {"2019-STAFF", "2019-H1", "2019-Q3", "2019-FY", *YEAR_2020}
    assert all(e.occurred_at == at(2020, 3, 12, 9) for e in created)  # announced the day they are created


def test_the_pass_opens_2020_on_15_december_and_runs_its_ladder() -> None:
    obligations, passes = synced(), FakePassStore()
    step(obligations, passes, at(2019, 12, 1, 8))
    assert not [ob for ob in obligations.all() if ob.period.startswith("2020")]
    step(obligations, passes, at(2019, 12, 14, 23, 59))
    assert not [ob for ob in obligations.all() if ob.period.startswith("2020")]
    opened = step(obligations, passes, at(2019, 12, 15, 8))
    assert periods_of(opened, "obligation.created") == dict.fromkeys(YEAR_2020, UNITS)
    created = [e for e in opened if e.type == "obligation.created"]
    assert all(e.occurred_at == at(2019, 12, 15, 8) and e.subject_version == 1 for e in created)
    q1 = next(e for e in created if e.subject == "obligation:H_CAUKE:2020-Q1")
    assert (parse_instant(q1.data["due_before"]), q1.data["deadline_day"]) == (at(2020, 3, 11), "2020-03-10")
    assert not periods_of(step(obligations, passes, at(2020, 1, 2, 8)), "obligation.created")  # opened once

    def levels(events: list[Event]) -> set[str]:
        return {e.data["level"] for e in events if e.subject == "obligation:H_CAUKE:2020-Q1"}

    assert levels(step(obligations, passes, at(2020, 3, 3, 8))) == {"reminder_7"}  # D = 10/3 (Tue), D-7
    assert levels(step(obligations, passes, at(2020, 3, 9, 8))) == {"reminder_1"}
    assert levels(step(obligations, passes, at(2020, 3, 11, 8))) == {"overdue"}
    sent = [e for e in obligations.events() if e.subject == "obligation:H_CAUKE:2020-Q1" and "level" in e.data]
    assert [e.data["skipped"] for e in sent] == [[], [], []]
    assert not [ob for ob in obligations.all() if ob.period.startswith("2021")]


def test_a_clock_jump_over_the_deadline_creates_the_year_and_sends_only_the_highest_level() -> None:
    obligations, passes = synced(), FakePassStore()
    step(obligations, passes, at(2019, 12, 1, 8))
    jumped = step(obligations, passes, at(2020, 3, 12, 9))
    assert periods_of(jumped, "obligation.created") == dict.fromkeys(YEAR_2020, UNITS)
    (overdue,) = [e for e in jumped if e.subject == "obligation:H_CAUKE:2020-Q1" and "level" in e.data]
    assert (overdue.type, overdue.data["level"]) == ("obligation.overdue", "overdue")
    assert overdue.data["skipped"] == ["reminder_7", "reminder_1"]
    assert overdue.data["days_overdue"] == 1  # sent on 11/03 08:00, one day after D


def test_two_replicas_and_a_redone_pass_open_a_year_once() -> None:
    obligations = synced()
    one, two = FakePassStore(), FakePassStore()
    for passes in (one, two):
        step(obligations, passes, at(2019, 12, 1, 8))
    first = step(obligations, one, at(2019, 12, 16, 8))
    again = step(obligations, two, at(2019, 12, 16, 8))
    assert periods_of(first, "obligation.created") == dict.fromkeys(YEAR_2020, UNITS)
    assert again == []
    assert scheduler.open_years_due(PLAN, obligations=obligations, after=at(2019, 12, 1), now=at(2019, 12, 16)) == 0
    assert scheduler.sync_plan(PLAN, obligations=obligations, clock=FixedClock(at(2019, 12, 17))) == 0
    created = obligations.events("obligation.created")
    assert len(created) == len({e.id for e in created}) == 8 * UNITS


def test_the_units_valid_then_owe_the_new_year() -> None:
    """A district merged on 1/1/2020 into a new one: the new unit owes 2020 and not 2019; the old one's 2020
    obligation (its window opened while it existed) is closed by the reorganisation, never overdue."""
    old = PLAN.unit("H_CAUKE")
    assert old is not None
    new = replace(old, code="H_CAUKE_MOI", name="Ủy ban nhân dân huyện Cầu Kè mới", valid_from=date(2020, 1, 1))
    units: list[Unit] = [
        replace(u, valid_until=date(2020, 1, 1), successors=("H_CAUKE_MOI",)) if u.code == "H_CAUKE" else u
        for u in PLAN.units
    ]
    merged = replace(PLAN, units=(*units, new))
    q1 = merged.period("2020-Q1")
    fy = merged.period("2019-FY")
    assert q1 is not None and fy is not None
    assert "H_CAUKE_MOI" in {u.code for u in merged.expected_units(q1)}
    assert "H_CAUKE" not in {u.code for u in merged.expected_units(q1)}
    assert "H_CAUKE_MOI" not in {u.code for u in merged.expected_units(fy)}
    obligations, passes = FakeObligationStore(), FakePassStore()
    scheduler.sync_plan(merged, obligations=obligations, clock=FixedClock(ISSUED))
    assert obligations.get("H_CAUKE_MOI", "2019-FY") is None
    step(obligations, passes, at(2019, 12, 16, 8), merged)
    assert obligations.get("H_CAUKE_MOI", "2020-Q1") is not None
    events = step(obligations, passes, at(2020, 3, 12, 9), merged)
    closed = [e for e in events if e.type == "obligation.closed" and e.data["period"].startswith("2020")]
    assert {e.data["period"] for e in closed if e.data["agency"] == "H_CAUKE"} == {"2020-Q1", "2020-H1", "2020-FY"}
    assert obligations.get("H_CAUKE", "2020-Q3") is None  # its window opens after the unit ceased
    assert [e.data["level"] for e in events if e.subject == "obligation:H_CAUKE_MOI:2020-Q1"] == ["overdue"]
    assert not [e for e in events if e.subject == "obligation:H_CAUKE:2020-Q1" and "level" in e.data]


def submitted(agency: str, period: str, received_at: datetime) -> Event:
    return report_event(agency, period, 1, received_at, {})


def test_a_report_that_overtakes_the_pass_creates_its_open_obligation_and_never_a_future_one() -> None:
    obligations = synced()
    early = delivered(submitted("H_CAUKE", "2020-Q1", at(2019, 12, 20, 9)))
    scheduler.on_report_submitted(early, obligations=obligations, plans=lambda: [VersionedPlan(PLAN)])
    ob = obligations.get("H_CAUKE", "2020-Q1")
    assert ob is not None
    assert obligations.events("obligation.fulfilled")[-1].data["status"] == "submitted_on_time"
    ahead = delivered(submitted("H_CAUKE", "2021-Q1", at(2020, 3, 1, 9)))
    scheduler.on_report_submitted(ahead, obligations=obligations, plans=lambda: [VersionedPlan(PLAN)])
    assert obligations.get("H_CAUKE", "2021-Q1") is None


def test_obligations_for_plan_defaults_to_the_plans_own_year() -> None:
    assert {ob.period for ob in obligations_for_plan(PLAN)} == {"2019-STAFF", "2019-H1", "2019-Q3", "2019-FY"}
    q1 = PLAN.period("2020-Q1")
    assert q1 is not None and len(obligations_for_plan(PLAN, [q1])) == UNITS


# --- intake, the board and the totals ---------------------------------------------------------------------------

OFFICER = Principal(sub="daumoi.h-cauke@travinh.example", role="agency", agency="H_CAUKE")


def test_intake_refuses_a_year_not_opened_yet_saying_when_it_opens() -> None:
    with pytest.raises(PeriodNotOpen) as refused:
        intake.check_period_open(PLAN, "H_CAUKE", "2020-Q1", now=OPENS_2020 - timedelta(seconds=1))
    assert refused.value.message == "Kỳ 2020-Q1 chưa mở: nhận báo cáo từ ngày 15/12/2019."
    assert intake.check_period_open(PLAN, "H_CAUKE", "2020-Q1", now=OPENS_2020).period == "2020-Q1"
    with pytest.raises(PeriodNotOpen, match="thay cho báo cáo quý II"):
        intake.check_period_open(PLAN, "H_CAUKE", "2020-Q2", now=at(2020, 5, 1))
    with pytest.raises(PeriodNotOpen, match="Không có kỳ báo cáo '2018-H1'"):
        intake.check_period_open(PLAN, "H_CAUKE", "2018-H1", now=at(2020, 5, 1))
    content = {"indicators": {"tcd_luot": 3}, "narratives": {f"area_{a}": "Đã làm." for a in range(1, 6)}}
    cmd = intake.SubmitReport("H_CAUKE", "2020-H1", content, source="api")
    report = intake.submit_report(cmd, OFFICER, reports=FakeReportStore(), plan=PLAN, clock=FixedClock(at(2020, 3, 12)))
    assert report.on_time is True and report.period == "2020-H1"
    late = intake.SubmitReport("H_CAUKE", "2020-Q1", content, source="api")
    answer = intake.submit_report(
        late, OFFICER, reports=FakeReportStore(), plan=PLAN, clock=FixedClock(at(2020, 3, 12))
    )
    assert answer.on_time is False  # due before 11/03/2020 00:00


def test_the_board_knows_a_year_once_it_has_opened_and_lists_overdue_units_of_every_year() -> None:
    obligations, passes, boards = synced(), FakePassStore(), FakeBoardStore()
    step(obligations, passes, at(2019, 12, 1, 8))
    step(obligations, passes, at(2019, 12, 16, 8))
    step(obligations, passes, at(2020, 3, 12, 9))
    for event in sorted(obligations.events(), key=lambda e: (e.subject, e.subject_version)):
        if event.type.startswith("obligation."):
            aggregator.on_obligation_event(delivered(copy.deepcopy(event)), boards=boards, plan=PLAN)
    before = FixedClock(at(2019, 12, 14))
    assert aggregator.get_compliance("2020-Q1", boards=boards, plan=PLAN, clock=before) is None
    now = FixedClock(at(2020, 3, 12, 9))
    q1 = aggregator.get_compliance("2020-Q1", boards=boards, plan=PLAN, clock=now)
    fy = aggregator.get_compliance("2019-FY", boards=boards, plan=PLAN, clock=now)
    assert q1 is not None and fy is not None
    assert (q1["EXPECTED_REPORTS"], q1["ACTUAL_REPORTS"], len(q1["overdue"])) == (UNITS, 0, UNITS)
    assert q1["period_name"] == "Báo cáo quý I năm 2020" and fy["period_name"] == "Báo cáo năm 2019"
    overdue = aggregator.overdue(boards=boards, plan=PLAN, clock=now)
    assert {r["period"] for r in overdue} == {"2019-STAFF", "2019-H1", "2019-Q3", "2019-FY", "2020-Q1"}
