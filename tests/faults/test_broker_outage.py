"""Broker outage over real processes: a report accepted while RabbitMQ is down reaches compliance later.

The stack here runs on a RabbitMQ node of its own, so stopping it disturbs no other stack on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import OwnBroker, TestStack, assert_invariants, own_stack


@pytest.fixture(scope="module")
def outage_stack() -> Iterator[TestStack]:
    broker = OwnBroker("o").start()
    try:
        with own_stack("o", broker) as s:
            yield s
    finally:
        broker.close()


def test_report_posted_while_broker_is_down_reaches_compliance_on_time(outage_stack: TestStack) -> None:
    s = outage_stack
    assert s.broker is not None
    s.set_clock("2019-06-10T23:59:30+07:00")
    s.wait_status("2019-H1", "H_CAUNGANG", "pending")  # the obligation has reached the board before the outage
    s.broker.stop_app()
    try:
        resp = s.post_report("H_CAUNGANG", "2019-H1", {"indicators": {"tcd_luot": 7}})
        assert resp.status_code == 201, resp.text
        assert resp.json()["on_time"] is True

        s.stack.kill("intake-web", "intake-relay")
        s.stack.start("intake-web", "intake-relay")
        s.stack.wait_ready("intake-web", "intake-relay", timeout=60)

        s.set_clock("2019-06-11T00:05:00+07:00", wait=False)  # intake's watermark cannot follow yet (F17)
        assert s.unit_status("2019-H1", "H_CAUNGANG") == "overdue"  # nothing has reached the board yet
    finally:
        s.broker.start_app()
    s.wait_status("2019-H1", "H_CAUNGANG", "submitted_on_time", timeout=90)
    stored = s.reports_of("H_CAUNGANG")
    assert len(stored) == 1 and stored[0]["on_time"] is True
    obligations = s.get("scheduler", "/api/v1/obligations?agency=H_CAUNGANG&period=2019-H1").json()["items"]
    assert obligations[0]["status"] == "submitted_on_time"
    assert_invariants(s)
