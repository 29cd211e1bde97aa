"""Two scheduler loops at once, one killed by a failpoint in the middle of a pass and restarted: every
(obligation, generation, level) due is emitted once and delivered once (over real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pika
import pytest
import requests

from shared.settings import ROOT
from shared.topology import EXCHANGE
from tests.support import TestStack, assert_invariants, own_stack, wait_for

LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")


@pytest.fixture(scope="module")
def replica_stack() -> Iterator[TestStack]:
    with own_stack("r") as s:
        yield s


def _loop(s: TestStack, failpoint: str | None = None) -> subprocess.Popen[bytes]:
    env = {**s.env, **({"DVCQ_FAILPOINT": failpoint} if failpoint else {})}
    log = open(s.dir / "log" / f"extra-loop-{failpoint or 'plain'}.log", "ab")  # noqa: SIM115 - the child's
    return subprocess.Popen(
        [sys.executable, "-m", "services.scheduler.loop"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def test_replicas_and_a_crash_mid_pass_emit_each_level_once(replica_stack: TestStack) -> None:
    s = replica_stack
    tap = pika.BlockingConnection(pika.URLParameters(s.amqp_url)).channel()
    tap.queue_declare("test-tap", durable=False)
    tap.queue_bind("test-tap", EXCHANGE, routing_key="obligation.#")
    extra: list[subprocess.Popen[bytes]] = []
    try:
        s.set_clock("2019-06-02T08:00:00+07:00")
        s.stack.stop("scheduler-loop")
        crashing = _loop(s, "scheduler.mid_pass")
        extra.append(crashing)
        requests.post(
            s.url("scheduler", "/api/v1/clock"), json={"now": "2019-06-03T08:00:00+07:00"}, headers=s.auth(), timeout=15
        ).raise_for_status()
        assert crashing.wait(timeout=60) == 86  # it died at the failpoint, after its first emission
        s.stack.start("scheduler-loop")
        extra.append(_loop(s))  # the crashed replica, restarted: two loops from now on
        for step in (
            "2019-06-03T08:00",
            "2019-06-07T08:00",
            "2019-06-11T08:00",
            "2019-06-17T08:00",
            "2019-06-20T08:00",
        ):
            s.set_clock(f"{step}:00+07:00")

        def published() -> list[dict[str, object]]:
            items = s.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
            levels = [e for e in items if e["type"] in LEVEL_TYPES]
            return levels if len(levels) >= 29 * 6 else []

        levels = wait_for(published, timeout=60, what="every level published")
        expected = {f"obligation:{u}:2019-H1:g1:{lv}" for u in {e["data"]["agency"] for e in levels}
                    for lv in ("reminder_7", "reminder_1", "overdue", "escalation_1", "escalation_2")}  # fmt: skip
        h1 = {e["id"] for e in levels if e["data"]["period"] == "2019-H1"}
        assert h1 == expected and len(expected) == 29 * 5
        staff = [e for e in levels if e["data"]["period"] == "2019-STAFF"]
        assert len(staff) == 29 and {e["data"]["level"] for e in staff} == {"escalation_2"}

        wait_for(lambda: tap.queue_declare("test-tap", passive=True).method.message_count >= len(levels), what="taps")
        deliveries: Counter[str] = Counter()
        while (message := tap.basic_get("test-tap", auto_ack=True))[0] is not None:
            event = json.loads(message[2])
            if event["type"] in LEVEL_TYPES:
                deliveries[event["id"]] += 1
        assert set(deliveries) == {e["id"] for e in levels}
        assert max(deliveries.values()) == 1, [k for k, v in deliveries.items() if v > 1]
        assert_invariants(s)
    finally:
        for proc in extra:
            proc.kill()
            proc.wait(timeout=10)
        tap.connection.close()
