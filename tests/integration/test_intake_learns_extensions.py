"""Intake learns granted extensions over real processes: scheduler API → `obligation.extended` on RabbitMQ →
intake's consumer → intake's store → intake's on-time answer at submission, which agrees with the scheduler's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from services.intake.store import MongoExtensionStore
from shared.timerules import Deadline
from tests.support import TestStack, local, own_stack, wait_for

PERIOD = "2019-H1"  # deadline day 10/06/2019: late from 11/06 00:00 local
EXTENDED = "H_CAUKE"  # asks on 12/06 for 20/06, granted
NOT_EXTENDED = "H_TIEUCAN"  # reports at the same instant, without an extension


@pytest.fixture(scope="module")
def extension_stack() -> Iterator[TestStack]:
    """A stack of this module's own: its clock is moved past the deadline, which the session stack must not be."""
    with own_stack("x") as s:
        yield s


def _post(stack: TestStack, path: str, body: dict[str, Any], role: str, agency: str | None = None) -> requests.Response:
    return requests.post(stack.url("scheduler", path), json=body, headers=stack.auth(role, agency), timeout=15)


def _intake_deadlines(stack: TestStack, agency: str, period: str) -> list[Deadline]:
    """What intake's own store holds for the unit's period (read through its adapter)."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.space.mongo_url, tz_aware=True)
    try:
        return MongoExtensionStore(client[f"{stack.space.prefix}intake"]).deadlines(agency, period)
    finally:
        client.close()


def test_a_report_after_the_plans_deadline_within_a_granted_extension_is_on_time_for_intake(
    extension_stack: TestStack,
) -> None:
    s = extension_stack
    s.set_clock("2019-06-12T10:00:00+07:00")
    asked = _post(
        s,
        f"/api/v1/obligations/{EXTENDED}/{PERIOD}/extension-requests",
        {"reason": "Chờ số liệu các xã", "proposed_date": "2019-06-20"},
        "agency",
        EXTENDED,
    )
    assert asked.status_code == 201, asked.text
    decide = f"/api/v1/extension-requests/{asked.json()['id']}/decision"
    granted = _post(s, decide, {"decision": "grant"}, "home_affairs")
    assert granted.status_code == 200, granted.text

    (learnt,) = wait_for(
        lambda: _intake_deadlines(s, EXTENDED, PERIOD), timeout=30, what="intake to store the granted extension"
    )
    assert learnt.generation == 2
    assert learnt.due_before == local("2019-06-21T00:00:00+07:00")
    assert learnt.effective_from == local("2019-06-12T10:00:00+07:00")
    assert _intake_deadlines(s, NOT_EXTENDED, PERIOD) == []

    extended = s.post_report(EXTENDED, PERIOD)
    assert extended.status_code == 201, extended.text
    assert extended.json()["on_time"] is True
    late = s.post_report(NOT_EXTENDED, PERIOD)
    assert late.status_code == 201, late.text
    assert late.json()["on_time"] is False

    # intake's answer is the scheduler's authoritative verdict, and the stored report keeps it
    s.wait_status(PERIOD, EXTENDED, "submitted_on_time")
    s.wait_status(PERIOD, NOT_EXTENDED, "submitted_late")
    assert [r["on_time"] for r in s.reports_of(EXTENDED)] == [True]
