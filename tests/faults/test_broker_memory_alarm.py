"""Memory alarm (issue 11, Done when 9), over real processes on a RabbitMQ node of the test's own: with the
high watermark at 0 for 60 s the broker blocks every publisher. Intake keeps answering (its request path never
waits on the broker) and its relay publishes nothing; once the alarm clears, the relay recovers and publishes
every report accepted meanwhile, and each reaches compliance once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import (
    OwnBroker,
    TestStack,
    assert_invariants,
    own_stack,
    post_report_until_answered,
    published_events,
    rabbitmqctl,
    wait_for,
)

PERIOD = "2019-H1"
UNITS = ("H_CAUKE", "H_CAUNGANG", "H_CHAUTHANH", "H_DUYENHAI", "H_TIEUCAN", "H_TRACU", "TX_DUYENHAI", "TP_TRAVINH")
ALARM_SECONDS = 60.0
SLOWEST_ANSWER = 10.0


@pytest.fixture(scope="module")
def alarm_stack() -> Iterator[TestStack]:
    broker = OwnBroker("a").start()
    try:
        with own_stack("a", broker) as s:
            yield s
    finally:
        broker.close()


def test_intake_answers_through_a_memory_alarm_and_the_relay_publishes_everything_after(alarm_stack) -> None:
    s = alarm_stack
    assert s.broker is not None
    units = list(UNITS)
    for unit in units:  # the obligations have reached the board before the alarm
        s.wait_status(PERIOD, unit, "pending", timeout=60)
    rabbitmqctl("set_vm_memory_high_watermark", "0", node=s.broker.node)
    alarm_until = time.monotonic() + ALARM_SECONDS
    answers = []
    try:
        wait_for(lambda: "memory" in rabbitmqctl("eval", "rabbit_alarm:get_alarms().", node=s.broker.node),
                 what="the memory alarm to be raised")  # fmt: skip
        spacing = ALARM_SECONDS / (len(units) + 1)
        for n, unit in enumerate(units):
            wait_for(lambda n=n: time.monotonic() >= alarm_until - ALARM_SECONDS + (n + 1) * spacing,
                     timeout=ALARM_SECONDS, interval=0.2, what="the next report's turn")  # fmt: skip
            resp, tries = post_report_until_answered(s, unit, PERIOD, {"indicators": {"tcd_luot": 2}}, key=f"a-{unit}")
            assert resp is not None and resp.status_code == 201, (unit, tries)
            answers += tries
            ready = requests.get(s.url("intake", "/readyz"), timeout=SLOWEST_ANSWER)
            assert ready.status_code == 200, ready.text
        assert all(a.status == 201 and a.seconds < SLOWEST_ANSWER for a in answers), answers
        wait_for(lambda: time.monotonic() >= alarm_until, timeout=ALARM_SECONDS, what="the alarm's 60 s")
        published = {e["data"]["agency"] for e in published_events(s, "intake", "report.submitted")}
        assert not published & set(units), f"published during the alarm: {published & set(units)}"
    finally:
        rabbitmqctl("set_vm_memory_high_watermark", "0.4", node=s.broker.node)

    def all_published() -> bool:
        return set(units) <= {e["data"]["agency"] for e in published_events(s, "intake", "report.submitted")}

    wait_for(all_published, timeout=120, interval=1.0, what="the relay to publish every report after the alarm")
    for unit in units:
        s.wait_status(PERIOD, unit, "submitted_on_time", timeout=120)
    assert_invariants(s)
