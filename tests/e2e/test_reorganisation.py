"""A 2025-style merger over real processes (F2, F3, DOMAIN.md §2), on the test plan tests/plans/merger-2025.

S_KHDT, S_NNPTNT and S_TNMT cease on 2025-03-01 (S_NNMT starts that day); the two districts cease on 2025-07-01.
A ceasing unit owes every applicable period whose deadline day is on/after its valid_from and whose data window
opens before its valid_until; when valid_until falls on or before the deadline day, the obligation is closed as
`closed_by_reorganisation` at local 00:00 of valid_until and never gets a level event; one `unit.changed` per
ceasing unit. Expected counts exclude closed obligations.

The stack runs on that plan (DVCQ_PLAN); the simulated clock is stepped through 2025, and after each step the
test waits until the scheduler's published event log has caught up with its obligations and the aggregator's
boards agree with the scheduler (a consistency condition that holds whatever the rule), then keeps a snapshot
of the scheduler's obligations, calendar and events and of the boards. The tests read the snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.settings import ROOT
from shared.timerules import local_iso
from tests.support import TestStack, all_obligations, local, wait_for

PLAN_DIR = ROOT / "tests" / "plans" / "merger-2025"
PERIODS = ("2025-Q1", "2025-H1", "2025-Q3")
STEPS = (
    "2025-02-28T08:00", "2025-03-01T08:00", "2025-03-03T08:00", "2025-03-11T08:00", "2025-07-01T08:00",
    "2025-09-11T08:00",
)  # fmt: skip
MARCH_1 = "2025-03-01T00:00:00+07:00"
JULY_1 = "2025-07-01T00:00:00+07:00"
CEASE_IN_MARCH = ("S_KHDT", "S_NNPTNT", "S_TNMT")
DISTRICTS = ("H_CANGLONG", "H_CAUKE")
STAY = ("SNV", "S_TC", "S_NNMT")
EXPECTED = {"2025-Q1": 5, "2025-H1": 5, "2025-Q3": 3}
LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
CLOSED = "closed_by_reorganisation"
CLOSED_IN_MARCH = {(a, p): MARCH_1 for a in CEASE_IN_MARCH for p in ("2025-Q1", "2025-H1")}
CLOSED_IN_JULY = {(a, "2025-Q3"): JULY_1 for a in DISTRICTS}
UNIT_CHANGES = {
    "S_KHDT": ("Sở Kế hoạch và Đầu tư", "2024-01-01", "2025-03-01", ["S_TC"]),
    "S_NNPTNT": ("Sở Nông nghiệp và Phát triển nông thôn", "2024-01-01", "2025-03-01", ["S_NNMT"]),
    "S_TNMT": ("Sở Tài nguyên và Môi trường", "2024-01-01", "2025-03-01", ["S_NNMT"]),
    "H_CANGLONG": ("Ủy ban nhân dân huyện Càng Long", "2024-01-01", "2025-07-01", []),
    "H_CAUKE": ("Ủy ban nhân dân huyện Cầu Kè", "2024-01-01", "2025-07-01", []),
}

Key = tuple[str, str]  # (agency, period)


@dataclass(frozen=True)
class Snapshot:
    """What the APIs showed once everything published up to one clock step had settled."""

    obligations: dict[Key, dict[str, Any]]
    expected: dict[str, int]
    boards: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]

    def of_period(self, period: str) -> dict[str, dict[str, Any]]:
        """Obligations of a period, by agency."""
        return {a: ob for (a, p), ob in self.obligations.items() if p == period}

    def closed(self) -> set[Key]:
        """Obligations the scheduler shows as closed by the reorganisation."""
        return {k for k, ob in self.obligations.items() if ob["status"] == CLOSED}

    def board_status(self, period: str) -> dict[str, str]:
        """The board's status of each unit of a period."""
        return {r["agency"]: r["status"] for r in self.boards[period]["items"]}


@dataclass(frozen=True)
class Timeline:
    stack: TestStack
    at: dict[str, Snapshot]


def _at(event: dict[str, Any]) -> str:
    return local_iso(local(event["occurred_at"])) or ""


def _key(event: dict[str, Any]) -> Key:
    return event["data"]["agency"], event["data"]["period"]


def all_events(stack: TestStack) -> list[dict[str, Any]]:
    """Every event the scheduler has published, paged with `after=<cursor>` until a page is empty."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        resp = stack.get("scheduler", "/api/v1/events", params={"limit": 1000, **({"after": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        if not page["items"]:
            return out
        out += page["items"]
        cursor = page["next"]


def levels(events: list[dict[str, Any]], period: str | None = None) -> list[dict[str, Any]]:
    """Level events (reminders, overdue, escalations), of one period if given."""
    return [e for e in events if e["type"] in LEVEL_TYPES and (period is None or e["data"]["period"] == period)]


def closings(events: list[dict[str, Any]]) -> dict[Key, str]:
    """(agency, period) -> the closing instant (local) of each `obligation.closed` event."""
    return {_key(e): _at(e) for e in events if e["type"] == "obligation.closed"}


def _last_level(ob: dict[str, Any]) -> str | None:
    emitted = ob["levels"]["emitted"]
    return emitted[-1].split(":", 1)[1] if emitted else None


def settled(stack: TestStack, step: str) -> Snapshot:
    """Wait until the published log holds every obligation's latest change and each board agrees with the
    scheduler (same units, statuses and levels); return what the APIs show then."""
    why = ["nothing read yet"]

    def probe() -> Snapshot | None:
        obligations = {(ob["agency"], ob["period"]): ob for ob in all_obligations(stack)}
        events = all_events(stack)
        published: dict[str, int] = {}
        for e in events:
            published[e["subject"]] = max(published.get(e["subject"], 0), int(e["subject_version"]))
        behind = [k for k, ob in obligations.items() if published.get("obligation:{}:{}".format(*k), 0) < ob["version"]]
        if behind:
            why[0] = f"changes of {sorted(behind)} not published yet"
            return None
        boards = {p: stack.compliance(p) for p in PERIODS}
        for period in PERIODS:
            rows = {r["agency"]: (r["status"], r["level"]) for r in boards[period]["items"]}
            mine = {a: (ob["status"], _last_level(ob)) for (a, p), ob in obligations.items() if p == period}
            if rows != mine:
                why[0] = f"board {period} {rows} != scheduler {mine}"
                return None
        calendar = stack.get("scheduler", "/api/v1/calendar").json()
        expected = {p["period"]: p["expected_reports"] for p in calendar["periods"] if p["period"] in PERIODS}
        return Snapshot(obligations, expected, boards, events)

    try:
        return wait_for(probe, timeout=60, what=f"the stack to settle at {step}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {why[0]}") from None


@pytest.fixture(scope="module")
def timeline() -> Iterator[Timeline]:
    s = TestStack("m", env={"DVCQ_PLAN": str(PLAN_DIR)})
    try:
        s.start()
        assert s.get("scheduler", "/api/v1/units").json()["plan"] == "merger-2025"
        assert s.clock()["now"] == "2025-01-02T00:00:00+07:00"
        snapshots = {"start": settled(s, "start")}
        for step in STEPS:
            s.set_clock(f"{step}:00+07:00")
            if step == "2025-03-03T08:00":
                resp = s.post_report("SNV", "2025-Q1")
                assert resp.status_code == 201 and resp.json()["on_time"] is True, resp.text
            snapshots[step] = settled(s, step)
        yield Timeline(s, snapshots)
    finally:
        s.close()


def test_the_stack_runs_the_merger_plan(timeline: Timeline) -> None:
    units = timeline.stack.items("scheduler", "/api/v1/units")
    assert [(u["order"], u["code"], u["valid_until"], u["successors"]) for u in units] == [
        (1, "SNV", None, []),
        (2, "S_TC", None, []),
        (3, "S_KHDT", "2025-03-01", ["S_TC"]),
        (4, "S_NNPTNT", "2025-03-01", ["S_NNMT"]),
        (5, "S_TNMT", "2025-03-01", ["S_NNMT"]),
        (6, "S_NNMT", None, []),
        (7, "H_CANGLONG", "2025-07-01", []),
        (8, "H_CAUKE", "2025-07-01", []),
    ]


def test_before_1_march_the_ceasing_units_owe_q1_and_h1_and_nothing_is_closed(timeline: Timeline) -> None:
    snap = timeline.at["2025-02-28T08:00"]
    # S_NNMT (valid from 1 March) may be created now or on its first day: it is checked from 1 March on
    for period in ("2025-Q1", "2025-H1"):
        owing = set(snap.of_period(period)) - {"S_NNMT"}
        assert owing == {"SNV", "S_TC", *CEASE_IN_MARCH, *DISTRICTS}, period
    assert set(snap.of_period("2025-Q3")) - {"S_NNMT"} == {"SNV", "S_TC", *DISTRICTS}
    assert {ob["status"] for ob in snap.obligations.values()} == {"pending"}
    khdt = snap.obligations[("S_KHDT", "2025-Q1")]
    assert khdt["due_before"] == "2025-03-11T00:00:00+07:00" and khdt["deadline_day"] == "2025-03-10"
    assert [e for e in snap.events if e["type"] in ("obligation.closed", "unit.changed", *LEVEL_TYPES)] == []


def test_on_1_march_the_ceased_units_q1_and_h1_are_closed_at_midnight(timeline: Timeline) -> None:
    snap = timeline.at["2025-03-01T08:00"]
    assert snap.closed() == set(CLOSED_IN_MARCH)
    assert closings(snap.events) == CLOSED_IN_MARCH
    for e in (e for e in snap.events if e["type"] == "obligation.closed"):
        assert e["subject"] == "obligation:{}:{}".format(*_key(e))
        assert e["data"]["status"] == CLOSED and len(e["data"]["reason"].strip()) >= 3
    for period in ("2025-Q1", "2025-H1"):
        board = snap.board_status(period)
        assert {a: board.get(a) for a in CEASE_IN_MARCH} == dict.fromkeys(CEASE_IN_MARCH, CLOSED), period
        assert set(board) == {"SNV", "S_TC", "S_NNMT", *CEASE_IN_MARCH, *DISTRICTS}, period
        assert snap.boards[period]["EXPECTED_REPORTS"] == 5 and snap.expected[period] == 5, period
    for period in PERIODS:
        assert snap.obligations[("S_NNMT", period)]["status"] == "pending"


def test_reminder_7_of_q1_reaches_the_open_units_only(timeline: Timeline) -> None:
    snap = timeline.at["2025-03-03T08:00"]
    reminders = levels(snap.events, "2025-Q1")
    assert sorted((e["data"]["agency"], e["data"]["level"], _at(e)) for e in reminders) == sorted(
        (a, "reminder_7", "2025-03-03T08:00:00+07:00") for a in (*STAY, *DISTRICTS)
    )
    assert levels(snap.events, "2025-H1") == [] and levels(snap.events, "2025-Q3") == []
    assert snap.closed() == set(CLOSED_IN_MARCH)


def test_on_11_march_the_non_reporters_are_overdue_and_the_ceased_units_are_not(timeline: Timeline) -> None:
    snap = timeline.at["2025-03-11T08:00"]
    overdue = [e for e in levels(snap.events, "2025-Q1") if e["data"]["level"] == "overdue"]
    assert sorted((e["data"]["agency"], _at(e), e["data"]["skipped"]) for e in overdue) == sorted(
        (a, "2025-03-11T08:00:00+07:00", ["reminder_1"]) for a in ("S_TC", "S_NNMT", *DISTRICTS)
    )
    statuses = {a: ob["status"] for a, ob in snap.of_period("2025-Q1").items()}
    assert statuses == {
        "SNV": "submitted_on_time",
        "S_TC": "overdue",
        "S_NNMT": "overdue",
        "H_CANGLONG": "overdue",
        "H_CAUKE": "overdue",
        **dict.fromkeys(CEASE_IN_MARCH, CLOSED),
    }
    assert snap.board_status("2025-Q1") == statuses
    board = snap.boards["2025-Q1"]
    assert (board["EXPECTED_REPORTS"], board["ACTUAL_REPORTS"], board["ACTUAL_REPORTS_ON_TIME"]) == (5, 1, 1)
    assert {r["agency"] for r in board["items"] if r["status"] == "overdue"} == {"S_TC", "S_NNMT", *DISTRICTS}


def test_on_1_july_the_districts_q3_is_closed_and_their_h1_is_not(timeline: Timeline) -> None:
    snap = timeline.at["2025-07-01T08:00"]
    assert snap.closed() == set(CLOSED_IN_MARCH) | set(CLOSED_IN_JULY)
    assert closings(snap.events) == {**CLOSED_IN_MARCH, **CLOSED_IN_JULY}
    h1 = {a: (ob["status"], _last_level(ob)) for a, ob in snap.of_period("2025-H1").items()}
    assert {a: h1.get(a) for a in (*STAY, *DISTRICTS)} == dict.fromkeys(
        (*STAY, *DISTRICTS), ("overdue", "escalation_2")
    )
    assert snap.board_status("2025-Q3") == {**dict.fromkeys(STAY, "pending"), **dict.fromkeys(DISTRICTS, CLOSED)}
    assert snap.boards["2025-Q3"]["EXPECTED_REPORTS"] == 3 and snap.expected["2025-Q3"] == 3


def test_on_11_september_q3_is_overdue_for_the_three_remaining_units_only(timeline: Timeline) -> None:
    snap = timeline.at["2025-09-11T08:00"]
    q3 = levels(snap.events, "2025-Q3")
    assert sorted((e["data"]["agency"], e["data"]["level"], _at(e), e["data"]["skipped"]) for e in q3) == sorted(
        (a, "overdue", "2025-09-11T08:00:00+07:00", ["reminder_7", "reminder_1"]) for a in STAY
    )
    statuses = {a: ob["status"] for a, ob in snap.of_period("2025-Q3").items()}
    assert statuses == {**dict.fromkeys(STAY, "overdue"), **dict.fromkeys(DISTRICTS, CLOSED)}
    assert snap.closed() == set(CLOSED_IN_MARCH) | set(CLOSED_IN_JULY)


def test_the_new_department_owes_q1_h1_and_q3_like_any_other(timeline: Timeline) -> None:
    snap = timeline.at["2025-09-11T08:00"]
    nnmt = {p: snap.obligations.get(("S_NNMT", p)) for p in PERIODS}
    assert all(nnmt.values()), nnmt
    assert {p: (ob["status"], _last_level(ob)) for p, ob in nnmt.items() if ob} == {
        "2025-Q1": ("overdue", "escalation_2"),
        "2025-H1": ("overdue", "escalation_2"),
        "2025-Q3": ("overdue", "overdue"),
    }


def test_the_ceased_departments_owe_no_q3(timeline: Timeline) -> None:
    for step, snap in timeline.at.items():
        assert not set(CEASE_IN_MARCH) & set(snap.of_period("2025-Q3")), step


def test_expected_counts_exclude_closed_obligations_on_the_calendar_and_the_board(timeline: Timeline) -> None:
    for step in STEPS[1:]:
        snap = timeline.at[step]
        settled_periods = ("2025-Q1", "2025-H1") if step < "2025-07-01" else PERIODS
        for period in settled_periods:
            assert snap.expected[period] == EXPECTED[period], (step, period)
            assert snap.boards[period]["EXPECTED_REPORTS"] == EXPECTED[period], (step, period)


def test_no_level_event_is_ever_published_for_a_closed_obligation(timeline: Timeline) -> None:
    events = timeline.at["2025-09-11T08:00"].events
    closed = closings(events)
    assert set(closed) == set(CLOSED_IN_MARCH) | set(CLOSED_IN_JULY)
    assert [e for e in levels(events) if _key(e) in closed] == []
    assert len([e for e in events if e["type"] == "obligation.closed"]) == len(closed)  # each closed once


def test_one_unit_changed_event_per_ceasing_unit_when_it_ceases(timeline: Timeline) -> None:
    for step in ("start", "2025-02-28T08:00"):
        assert [e for e in timeline.at[step].events if e["type"] == "unit.changed"] == [], step
    for step in ("2025-03-01T08:00", "2025-03-03T08:00", "2025-03-11T08:00"):
        early = [e for e in timeline.at[step].events if e["type"] == "unit.changed" and e["data"]["code"] in DISTRICTS]
        assert early == [], step

    def published() -> list[dict[str, Any]] | None:
        found = [e for e in all_events(timeline.stack) if e["type"] == "unit.changed"]
        return found if len(found) >= len(UNIT_CHANGES) else None

    changes = wait_for(published, timeout=30, what="a unit.changed event per ceasing unit")
    assert sorted((e["subject"], e["data"]["code"], _at(e)) for e in changes) == sorted(
        (f"unit:{code}", code, f"{until}T00:00:00+07:00") for code, (_, _, until, _) in UNIT_CHANGES.items()
    )
    assert {
        e["data"]["code"]: (
            e["data"]["name"],
            e["data"]["valid_from"],
            e["data"]["valid_until"],
            e["data"]["successors"],
        )
        for e in changes
    } == UNIT_CHANGES
