"""The F7 ladder over real processes: the simulated clock stepped through 2019-H1 (waiting on the scheduler's
`processed_up_to` at each step); the events are read back from the scheduler's published event log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.timerules import local_iso
from tests.support import TestStack, local, own_stack, wait_for

SUBJECT = "obligation:{}:2019-H1"
LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")


def _levels(stack: TestStack, agency: str) -> list[tuple[str, str]]:
    """(level, occurred_at local) of the unit's published H1 level events, in order."""
    items = stack.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
    return [
        (e["data"]["level"], local_iso(local(e["occurred_at"])) or "")
        for e in items
        if e["type"] in LEVEL_TYPES and e["subject"] == SUBJECT.format(agency)
    ]


def _published(stack: TestStack, agency: str, count: int) -> list[tuple[str, str]]:
    return wait_for(lambda: (lv := _levels(stack, agency)) and len(lv) >= count and lv, what=f"{count} levels")


@pytest.fixture(scope="module")
def ladder_stack() -> Iterator[TestStack]:
    with own_stack("l") as s:
        yield s


def test_stepping_through_h1_gives_each_level_once_and_reports_stop_the_ladder(ladder_stack: TestStack) -> None:
    s = ladder_stack
    steps = [
        "2019-06-02T08:00", "2019-06-03T07:59", "2019-06-03T08:00", "2019-06-05T10:00", "2019-06-06T08:00",
        "2019-06-07T08:00", "2019-06-10T08:00", "2019-06-11T08:00", "2019-06-14T08:00", "2019-06-15T08:00",
        "2019-06-17T08:00", "2019-06-18T10:00", "2019-06-19T08:00", "2019-06-20T08:00", "2019-06-30T08:00",
    ]  # fmt: skip
    for step in steps:
        s.set_clock(f"{step}:00+07:00")
        if step == "2019-06-05T10:00":
            assert s.post_report("H_TIEUCAN", "2019-H1").json()["on_time"] is True
        if step == "2019-06-18T10:00":
            assert s.post_report("H_CHAUTHANH", "2019-H1").json()["on_time"] is False

    never = _published(s, "H_CAUKE", 5)
    assert never == [
        ("reminder_7", "2019-06-03T08:00:00+07:00"),
        ("reminder_1", "2019-06-07T08:00:00+07:00"),
        ("overdue", "2019-06-11T08:00:00+07:00"),
        ("escalation_1", "2019-06-17T08:00:00+07:00"),
        ("escalation_2", "2019-06-20T08:00:00+07:00"),
    ]
    assert [level for level, _ in _levels(s, "H_TIEUCAN")] == ["reminder_7"]
    assert [level for level, _ in _levels(s, "H_CHAUTHANH")] == ["reminder_7", "reminder_1", "overdue", "escalation_1"]
    s.wait_status("2019-H1", "H_TIEUCAN", "submitted_on_time")
    s.wait_status("2019-H1", "H_CHAUTHANH", "submitted_late")

    def cauke() -> dict | None:  # the board follows the published events a moment later
        row = next(u for u in s.compliance("2019-H1")["items"] if u["agency"] == "H_CAUKE")
        return row if row["level"] == "escalation_2" else None

    row = wait_for(cauke, timeout=60, what="H_CAUKE's escalation_2 on the board")
    assert row["status"] == "overdue" and row["days_overdue"] == 20


@pytest.fixture(scope="module")
def jump_stack() -> Iterator[TestStack]:
    with own_stack("j") as s:
        yield s


def test_a_jump_from_2_to_18_june_sends_escalation_1_once_and_skips_the_rest(jump_stack: TestStack) -> None:
    s = jump_stack
    s.set_clock("2019-06-02T08:00:00+07:00")
    s.set_clock("2019-06-18T08:00:00+07:00")
    s.set_clock("2019-06-18T09:00:00+07:00")  # a later pass adds nothing
    wait_for(
        lambda: len([e for e in s.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
                     if e["type"] in LEVEL_TYPES and e["data"]["period"] == "2019-H1"]) >= 29,
        timeout=120,
        what="29 escalations published",
    )  # fmt: skip
    items = s.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
    levels = [e for e in items if e["type"] in LEVEL_TYPES and e["data"]["period"] == "2019-H1"]
    assert len(levels) == 29 and len({e["id"] for e in levels}) == 29
    assert {e["data"]["level"] for e in levels} == {"escalation_1"}
    assert all(e["data"]["skipped"] == ["reminder_7", "reminder_1", "overdue"] for e in levels)
    obligation = s.get("scheduler", "/api/v1/obligations?agency=H_CAUKE&period=2019-H1").json()["items"][0]
    assert obligation["levels"] == {
        "emitted": ["g1:escalation_1"],
        "skipped": ["g1:reminder_7", "g1:reminder_1", "g1:overdue"],
    }
