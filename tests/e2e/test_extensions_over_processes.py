"""F8 over real processes: extensions granted and refused, and a waiver, while the simulated clock steps through
2019-H1 (D = 10/06, levels at 08:00 local); every event is read back from the scheduler's published event log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from services.intake.store import MongoExtensionStore
from shared.timerules import Deadline, local_iso
from tests.support import TestStack, local, own_stack, wait_for

PERIOD = "2019-H1"
GRANTED_A = "TP_TRAVINH"  # extended to 14/06, reports on 13/06
GRANTED_B = "TX_DUYENHAI"  # extended to 14/06, never reports
REFUSED = "H_CANGLONG"
WAIVED = "H_CAUNGANG"
UNTOUCHED = "H_TRACU"  # no request, no report: the ordinary ladder to compare with
LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
ORIGINAL_DUE = "2019-06-11T00:00:00+07:00"
EXTENDED_DUE = "2019-06-15T00:00:00+07:00"  # deadline day 14/06
REFUSAL = "Không đủ căn cứ"

ORDINARY_LADDER = [
    ("reminder_7", 1, "2019-06-03T08:00:00+07:00", 0),
    ("reminder_1", 1, "2019-06-07T08:00:00+07:00", 0),
    ("overdue", 1, "2019-06-11T08:00:00+07:00", 1),
    ("escalation_1", 1, "2019-06-17T08:00:00+07:00", 7),
    ("escalation_2", 1, "2019-06-20T08:00:00+07:00", 10),
]
# (level, generation, occurred_at local, days_overdue = local date - deadline day of that generation)
EXPECTED_LEVELS = {
    GRANTED_A: [
        ("reminder_7", 1, "2019-06-03T08:00:00+07:00", 0),
        ("reminder_1", 1, "2019-06-07T08:00:00+07:00", 0),
        ("reminder_1", 2, "2019-06-13T08:00:00+07:00", 0),
    ],
    GRANTED_B: [
        ("reminder_7", 1, "2019-06-03T08:00:00+07:00", 0),
        ("reminder_1", 1, "2019-06-07T08:00:00+07:00", 0),
        ("reminder_1", 2, "2019-06-13T08:00:00+07:00", 0),
        ("overdue", 2, "2019-06-17T08:00:00+07:00", 3),
        ("escalation_1", 2, "2019-06-19T08:00:00+07:00", 5),
        ("escalation_2", 2, "2019-06-24T08:00:00+07:00", 10),
    ],
    REFUSED: ORDINARY_LADDER,
    WAIVED: ORDINARY_LADDER[:2],
    UNTOUCHED: ORDINARY_LADDER,
}
# events other than levels, per (type, agency)
EXPECTED_OTHERS = Counter(
    {
        ("obligation.extension_requested", GRANTED_A): 1,
        ("obligation.extension_requested", GRANTED_B): 1,
        ("obligation.extension_requested", REFUSED): 1,
        ("obligation.extended", GRANTED_A): 1,
        ("obligation.extended", GRANTED_B): 1,
        ("obligation.extension_refused", REFUSED): 1,
        ("obligation.waived", WAIVED): 1,
        ("obligation.fulfilled", GRANTED_A): 1,
    }
)


def _feed(stack: TestStack) -> list[dict[str, Any]]:
    """Every event the scheduler has published, page after page until an empty page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        resp = stack.get("scheduler", "/api/v1/events", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()["items"]
        if not page:
            return items
        items += page
        params = {"limit": 1000, "after": page[-1]["cursor"]}


def _of(feed: list[dict[str, Any]], agency: str, types: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The unit's H1 events of the given types."""
    subject = f"obligation:{agency}:{PERIOD}"
    return [e for e in feed if e["subject"] == subject and (types is None or e["type"] in types)]


def _levels(feed: list[dict[str, Any]], agency: str) -> list[tuple[str, int, str, int]]:
    """(level, generation, occurred_at local, days_overdue) of the unit's H1 level events, in business time."""
    rows = [
        (
            e["data"]["level"],
            e["data"]["generation"],
            local_iso(local(e["occurred_at"])) or "",
            e["data"]["days_overdue"],
        )
        for e in _of(feed, agency, LEVEL_TYPES)
    ]
    return sorted(rows, key=lambda r: (local(r[2]), r[1]))


def _others(feed: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    agencies = set(EXPECTED_LEVELS)
    return Counter(
        (e["type"], e["data"]["agency"])
        for e in feed
        if e["type"] not in LEVEL_TYPES and e["type"] != "obligation.created" and e["data"].get("agency") in agencies
    )


def _complete(feed: list[dict[str, Any]]) -> bool:
    """Everything the scenario should publish has arrived (counts reached; exact contents asserted by the tests)."""
    levels_done = all(len(_levels(feed, agency)) >= len(want) for agency, want in EXPECTED_LEVELS.items())
    others = _others(feed)
    return levels_done and all(others[key] >= n for key, n in EXPECTED_OTHERS.items())


def _obligation(stack: TestStack, agency: str) -> dict[str, Any]:
    resp = stack.get("scheduler", f"/api/v1/obligations?agency={agency}&period={PERIOD}")
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert len(items) == 1, items
    return items[0]


def _board_row(stack: TestStack, agency: str) -> dict[str, Any] | None:
    rows = [u for u in stack.compliance(PERIOD)["items"] if u["agency"] == agency]
    return rows[0] if rows else None


def _intake_deadlines(stack: TestStack, agency: str) -> list[Deadline]:
    """The granted generations intake's own store holds for the unit's H1 (read through its adapter)."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.space.mongo_url, tz_aware=True)
    try:
        return MongoExtensionStore(client[f"{stack.space.prefix}intake"]).deadlines(agency, PERIOD)
    finally:
        client.close()


def _post(stack: TestStack, service: str, path: str, body: dict[str, Any], token: str) -> requests.Response:
    return requests.post(stack.url(service, path), json=body, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def _ask_extension(stack: TestStack, agency: str) -> str:
    resp = _post(
        stack,
        "scheduler",
        f"/api/v1/obligations/{agency}/{PERIOD}/extension-requests",
        {"reason": "Chờ số liệu của các xã", "proposed_date": "2019-06-14"},
        stack.token("agency", agency),
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "pending"
    return resp.json()["id"]


def _decide(stack: TestStack, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = _post(
        stack, "scheduler", f"/api/v1/extension-requests/{request_id}/decision", body, stack.token("home_affairs")
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def extension_stack() -> Iterator[TestStack]:
    with own_stack("x") as s:
        yield s


@dataclass(frozen=True)
class Scenario:
    """What the run left: intake's 201 answer to unit A's report and the scheduler's whole published feed."""

    posted: dict[str, Any]
    feed: list[dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(extension_stack: TestStack) -> Scenario:
    """Run the scenario once, then wait until every expected event is published."""
    s = extension_stack
    for step in ("2019-06-03T08:00", "2019-06-07T08:00", "2019-06-07T10:00"):
        s.set_clock(f"{step}:00+07:00")
    for agency in (GRANTED_A, GRANTED_B):
        decided = _decide(
            s, _ask_extension(s, agency), {"decision": "grant", "reason": "Đồng ý gia hạn", "due_date": "2019-06-14"}
        )
        assert (decided["status"], decided["granted_date"]) == ("granted", "2019-06-14"), decided
    decided = _decide(s, _ask_extension(s, REFUSED), {"decision": "refuse", "reason": REFUSAL})
    assert (decided["status"], decided["decided_reason"]) == ("refused", REFUSAL), decided
    waive = f"/api/v1/obligations/{WAIVED}/{PERIOD}/waive"
    resp = _post(s, "scheduler", waive, {"reason": "Đơn vị đang sáp nhập"}, s.token("home_affairs"))
    assert resp.status_code == 200 and resp.json()["status"] == "waived", resp.text

    for step in ("2019-06-10T08:00", "2019-06-11T08:00", "2019-06-13T08:00", "2019-06-13T10:00"):
        s.set_clock(f"{step}:00+07:00")
    # intake answers from its own copy of the deadlines, fed by `obligation.extended` through the relay (Time
    # rules): wait until it holds the grant, so that its answer can be asserted
    wait_for(lambda: _intake_deadlines(s, GRANTED_A), timeout=60, what=f"intake to learn {GRANTED_A}'s extension")
    posted = s.post_report(GRANTED_A, PERIOD)
    assert posted.status_code == 201, posted.text
    # the verdict must be recorded before the ladder moves on, or a later pass could still alert the unit
    final = ("submitted_on_time", "submitted_late")
    wait_for(lambda: _obligation(s, GRANTED_A)["status"] in final, what=f"{GRANTED_A} fulfilled")
    for step in (
        "2019-06-14T08:00", "2019-06-17T08:00", "2019-06-19T08:00", "2019-06-20T08:00", "2019-06-24T08:00",
        "2019-06-30T08:00",
    ):  # fmt: skip
        s.set_clock(f"{step}:00+07:00")

    try:
        feed = wait_for(lambda: (f := _feed(s)) and _complete(f) and f, timeout=60, what="every expected event")
    except AssertionError as exc:
        f = _feed(s)
        seen = {agency: _levels(f, agency) for agency in EXPECTED_LEVELS}
        raise AssertionError(f"{exc}\nlevels: {seen}\nothers: {dict(_others(f))}") from None
    return Scenario(posted=posted.json(), feed=feed)


def test_a_unit_granted_an_extension_gets_the_new_reminder_and_its_report_before_the_new_deadline_is_on_time(
    extension_stack: TestStack, scenario: Scenario
) -> None:
    s, feed = extension_stack, scenario.feed
    assert scenario.posted["on_time"] is True, scenario.posted  # intake's answer counts the extension
    assert _levels(feed, GRANTED_A) == EXPECTED_LEVELS[GRANTED_A]
    obligation = _obligation(s, GRANTED_A)
    assert obligation["levels"] == {
        "emitted": ["g1:reminder_7", "g1:reminder_1", "g2:reminder_1"],
        "skipped": ["g2:reminder_7"],
    }
    assert (obligation["status"], obligation["generation"], obligation["due_before"]) == (
        "submitted_on_time", 2, EXTENDED_DUE,
    )  # fmt: skip
    assert obligation["days_late"] == 0
    (fulfilled,) = _of(feed, GRANTED_A, ("obligation.fulfilled",))
    assert (fulfilled["data"]["status"], fulfilled["data"]["generation"], fulfilled["data"]["days_late"]) == (
        "submitted_on_time", 2, 0,
    )  # fmt: skip
    (extended,) = _of(feed, GRANTED_A, ("obligation.extended",))
    assert extended["data"]["generation"] == 2
    assert local_iso(local(extended["data"]["due_before"])) == EXTENDED_DUE
    assert local_iso(local(extended["data"]["effective_from"])) == "2019-06-07T10:00:00+07:00"
    s.wait_status(PERIOD, GRANTED_A, "submitted_on_time")


def test_an_extended_unit_that_never_reports_climbs_the_new_ladder_once(
    extension_stack: TestStack, scenario: Scenario
) -> None:
    s, feed = extension_stack, scenario.feed
    levels = _of(feed, GRANTED_B, LEVEL_TYPES)
    assert _levels(feed, GRANTED_B) == EXPECTED_LEVELS[GRANTED_B]
    assert len({e["id"] for e in levels}) == len(levels) == 6
    assert all(
        local_iso(local(e["data"]["due_before"])) == EXTENDED_DUE for e in levels if e["data"]["generation"] == 2
    )
    obligation = _obligation(s, GRANTED_B)
    assert obligation["levels"] == {
        "emitted": [
            "g1:reminder_7",
            "g1:reminder_1",
            "g2:reminder_1",
            "g2:overdue",
            "g2:escalation_1",
            "g2:escalation_2",
        ],
        "skipped": ["g2:reminder_7"],
    }
    assert (obligation["status"], obligation["generation"], obligation["due_before"]) == ("overdue", 2, EXTENDED_DUE)
    wait_for(
        lambda: (row := _board_row(s, GRANTED_B)) and row["level"] == "escalation_2" and row,
        what=f"{GRANTED_B} at escalation_2 on the board",
    )
    row = _board_row(s, GRANTED_B)
    assert (row["status"], row["generation"], row["extended"], row["due_before"]) == (
        "overdue", 2, True, EXTENDED_DUE,
    ), row  # fmt: skip
    assert row["days_overdue"] == 16  # 30/06 - 14/06


def test_a_refused_extension_is_announced_and_leaves_the_ordinary_ladder(
    extension_stack: TestStack, scenario: Scenario
) -> None:
    s, feed = extension_stack, scenario.feed
    (refused,) = _of(feed, REFUSED, ("obligation.extension_refused",))
    assert refused["data"]["reason"] == REFUSAL
    assert local_iso(local(refused["occurred_at"])) == "2019-06-07T10:00:00+07:00"
    assert _of(feed, REFUSED, ("obligation.extended",)) == []
    assert _levels(feed, REFUSED) == ORDINARY_LADDER == _levels(feed, UNTOUCHED)
    assert {e["data"]["generation"] for e in _of(feed, REFUSED, LEVEL_TYPES)} == {1}
    obligation = _obligation(s, REFUSED)
    assert (obligation["status"], obligation["generation"], obligation["due_before"]) == ("overdue", 1, ORIGINAL_DUE)
    assert obligation["levels"]["skipped"] == []


def test_a_waived_unit_gets_no_alert_after_the_waiver_and_leaves_the_expected_reports(
    extension_stack: TestStack, scenario: Scenario
) -> None:
    s, feed = extension_stack, scenario.feed
    (waived,) = _of(feed, WAIVED, ("obligation.waived",))
    assert local_iso(local(waived["occurred_at"])) == "2019-06-07T10:00:00+07:00"
    assert _levels(feed, WAIVED) == EXPECTED_LEVELS[WAIVED]
    assert all(local(e["occurred_at"]) < local(waived["occurred_at"]) for e in _of(feed, WAIVED, LEVEL_TYPES))
    assert _obligation(s, WAIVED)["status"] == "waived"
    s.wait_status(PERIOD, WAIVED, "waived")

    calendar = s.get("scheduler", "/api/v1/calendar?year=2019").json()["periods"]
    expected = next(p["expected_reports"] for p in calendar if p["period"] == PERIOD)
    assert expected > 5
    wait_for(lambda: len(s.compliance(PERIOD)["items"]) == expected, what=f"{expected} units on the board")
    board = s.compliance(PERIOD)
    assert (board["EXPECTED_REPORTS"], board["ACTUAL_REPORTS"], board["ACTUAL_REPORTS_ON_TIME"]) == (expected - 1, 1, 1)
    assert WAIVED not in {r["agency"] for r in board["items"] if r["status"] == "overdue"}


def test_no_level_is_published_twice_for_any_obligation_and_generation(scenario: Scenario) -> None:
    feed = scenario.feed
    keys = [(e["subject"], e["data"]["generation"], e["data"]["level"]) for e in feed if e["type"] in LEVEL_TYPES]
    assert len(keys) > sum(len(levels) for levels in EXPECTED_LEVELS.values())
    assert [key for key, n in Counter(keys).items() if n > 1] == []
    assert len({e["id"] for e in feed}) == len(feed)


def test_each_decision_on_an_obligation_carries_a_newer_subject_version_than_the_request(
    scenario: Scenario,
) -> None:
    """Events: `subject_version` grows with each change of the subject, and consumers apply only newer ones; the
    clock is frozen here, so the request and its decision happen at the same business instant."""
    feed = scenario.feed
    decisions = {
        GRANTED_A: "obligation.extended",
        GRANTED_B: "obligation.extended",
        REFUSED: "obligation.extension_refused",
    }
    for agency, decision in decisions.items():
        (asked,) = _of(feed, agency, ("obligation.extension_requested",))
        (decided,) = _of(feed, agency, (decision,))
        assert decided["subject_version"] > asked["subject_version"], (agency, asked, decided)
