"""Poison never blocks, over real processes: hostile messages put straight into every service's queue go to
that queue's dead-letter queue on their first delivery and the next real event is processed; a good event
that a failpoint made its consumer die on reaches the dead-letter queue after the delivery limit, and
`dvcq dlq replay` applies it once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pika
import pytest
import requests
from pymongo import MongoClient

from services.intake.store import MongoExtensionStore
from shared.events import Event
from shared.procs import CRASH_LOOP_EXITS
from shared.topology import DELIVERY_LIMIT, queue_for, queues
from tests.support import TestStack, assert_invariants, own_stack, wait_for, wait_quiet

PERIOD = "2019-H1"  # deadline day 10/06/2019
EXTENDED = "H_CAUKE"  # granted an extension to 20/06 after the poison: intake's consumer must learn it
REPORTER = "H_TIEUCAN"  # reports after the poison: the scheduler, notifier and aggregator must see it
REPLAYED = "H_CANGLONG"  # its report.submitted kills the scheduler's consumer until dead-lettered, then replayed
KINDS = ("not-json", "deep", "unknown-type", "operator-key", "oversized")


@pytest.fixture(scope="module")
def poison_stack() -> Iterator[TestStack]:
    with own_stack("p") as s:
        s.set_clock("2019-06-05T10:00:00+07:00")  # before the deadline: extensions can be asked, reports on time
        wait_quiet(s)  # the clock step's events are through: what follows the poison is what the test sends
        yield s


def _envelope(**data: Any) -> dict[str, Any]:
    return Event(
        type="obligation.waived",
        subject=f"obligation:{EXTENDED}:{PERIOD}",
        subject_version=9,
        producer="test",
        occurred_at=datetime(2019, 6, 5, 3, 0, tzinfo=UTC),
        data={"agency": EXTENDED, "period": PERIOD, "reason": "thử", **data},
    ).to_dict()


def poison(kind: str) -> bytes:
    """One hostile message body of each kind."""
    if kind == "not-json":
        return b"\xff\xfe<html>not json"
    if kind == "deep":
        return b"[" * 5000 + b"]" * 5000
    if kind == "unknown-type":
        return json.dumps({**_envelope(), "type": "obligation.exploded"}).encode()
    if kind == "operator-key":
        return json.dumps(_envelope(**{"$where": "function() { sleep(100000); return true; }"})).encode()
    return json.dumps(_envelope(reason="x" * (4 * 1024 * 1024))).encode()  # oversized


def _publish_poison(s: TestStack) -> dict[str, set[str]]:
    """Every kind of poison into every service's work queue (the default exchange, as a hostile client with
    the vhost's credentials could), confirmed by the broker. Returns the message ids by service."""
    conn = pika.BlockingConnection(pika.URLParameters(s.amqp_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        sent: dict[str, set[str]] = {}
        for q in queues():
            for kind in KINDS:
                message_id = f"poison:{q.service}:{kind}"
                props = pika.BasicProperties(delivery_mode=2, message_id=message_id)
                channel.basic_publish("", q.queue, poison(kind), props, mandatory=True)
                sent.setdefault(q.service, set()).add(message_id)
        return sent
    finally:
        conn.close()


def _intake_generations(s: TestStack, agency: str) -> list[int]:
    client: MongoClient[dict[str, Any]] = MongoClient(s.space.mongo_url, tz_aware=True)
    try:
        return [d.generation for d in MongoExtensionStore(client[f"{s.space.prefix}intake"]).deadlines(agency, PERIOD)]
    finally:
        client.close()


def _grant_extension(s: TestStack, agency: str) -> None:
    url = s.url("scheduler", f"/api/v1/obligations/{agency}/{PERIOD}/extension-requests")
    body = {"reason": "Chờ số liệu các xã", "proposed_date": "2019-06-20"}
    asked = requests.post(url, json=body, headers=s.auth("agency", agency), timeout=15)
    assert asked.status_code == 201, asked.text
    decide = s.url("scheduler", f"/api/v1/extension-requests/{asked.json()['id']}/decision")
    granted = requests.post(decide, json={"decision": "grant"}, headers=s.auth("home_affairs"), timeout=15)
    assert granted.status_code == 200, granted.text


def _obligation_status(s: TestStack, agency: str) -> str:
    items = s.get("scheduler", f"/api/v1/obligations?agency={agency}&period={PERIOD}").json()["items"]
    return str(items[0]["status"])


def _fulfilments(s: TestStack, agency: str) -> list[dict[str, Any]]:
    items = s.get("scheduler", "/api/v1/events?limit=1000").json()["items"]
    return [e for e in items if e["type"] == "obligation.fulfilled" and e["data"]["agency"] == agency]


def _rejections(s: TestStack, service: str) -> Counter[str]:
    """How many times the service's consumer rejected each message as malformed (one log line each)."""
    records = s.log_records(f"{service}-consumer")
    return Counter(r.get("message_id") for r in records if r.get("msg") == "malformed message dead-lettered")


def test_poison_in_every_queue_is_dead_lettered_on_its_first_delivery_and_the_next_event_is_processed(
    poison_stack: TestStack,
) -> None:
    s = poison_stack
    sent = _publish_poison(s)
    _grant_extension(s, EXTENDED)  # obligation.extended: intake, notifier, aggregator
    assert s.post_report(REPORTER, PERIOD).status_code == 201  # report.submitted, then obligation.fulfilled

    for q in queues():
        wait_for(
            lambda q=q: {x["id"] for x in s.dead_letters(q.service)} == sent[q.service],
            timeout=120,
            what=f"the poison in {q.dead_letter_queue}",
        )
    # the next real events got through every queue
    wait_for(lambda: _intake_generations(s, EXTENDED) == [2], timeout=120, what="intake to learn the extension")
    wait_for(lambda: _obligation_status(s, REPORTER) == "submitted_on_time", timeout=120, what="the verdict")
    s.wait_status(PERIOD, REPORTER, "submitted_on_time", timeout=120)
    wait_for(
        lambda: any(
            n["event_type"] == "obligation.fulfilled"
            for n in s.get("notifier", f"/api/v1/notifications?agency={REPORTER}&period={PERIOD}").json()["items"]
        ),
        timeout=120,
        what="the notifier's receipt for the report",
    )
    wait_for(
        lambda: any(u["agency"] == EXTENDED and u["extended"] for u in s.compliance(PERIOD)["items"]),
        timeout=120,
        what="the board to show the extension",
    )

    # each poison was refused once, on its first delivery: rejected by the consumer, no consumer ever died
    for q in queues():
        letters = s.dead_letters(q.service)
        assert sorted(x["id"] for x in letters) == sorted(sent[q.service])
        assert {x["reason"] for x in letters} == {"rejected"}, letters
        assert _rejections(s, q.service) == Counter(sent[q.service])
    processes = s.processes()
    assert {name: p["restarts"] for name, p in processes.items() if name.endswith("-consumer")} == {
        f"{q.service}-consumer": 0 for q in queues()
    }
    ready = s.get("notifier", "/readyz").json()
    assert ready["status"] == "ready"
    assert ready["detail"]["dead_letters"] == {queue_for("notifier").dead_letter_queue: len(KINDS)}
    totals = s.get("aggregator", "/api/v1/dead-letters", role="home_affairs").json()
    assert totals["total"] == len(KINDS) * len(queues())
    assert {i["service"]: i["messages"] for i in totals["items"]} == {q.service: len(KINDS) for q in queues()}
    assert s.get("aggregator", "/api/v1/dead-letters", role="observer").status_code == 403
    assert_invariants(s, dead_letters={q.service: len(KINDS) for q in queues()}, rebuild=False)


def test_a_good_event_dead_lettered_by_a_crashing_consumer_is_applied_once_by_replay(
    poison_stack: TestStack,
) -> None:
    s = poison_stack
    event_id = f"report:{REPLAYED}:{PERIOD}:r1:submitted"
    s.stack.stop("scheduler-consumer")
    s.stack.start("scheduler-consumer", extra_env={"DVCQ_FAILPOINT": f"scheduler.consume:{event_id}"})
    assert s.post_report(REPLAYED, PERIOD).status_code == 201

    def dead_lettered() -> list[dict[str, Any]]:
        return [x for x in s.dead_letters("scheduler") if x["id"] == event_id]

    (letter,) = wait_for(dead_lettered, timeout=240, interval=1, what="the broker to dead-letter the killer event")
    assert letter["reason"] == "delivery_limit"
    consumer = wait_for(
        lambda: (p := s.processes()["scheduler-consumer"])["state"] == "running" and p, timeout=120, what="restart"
    )
    exits = [e["code"] for e in consumer["exits"]]
    assert exits == [86] * (DELIVERY_LIMIT + 1) and consumer["restarts"] == DELIVERY_LIMIT + 1, consumer
    status = s.dvcq("stack", "status")
    line = next(x for x in status.stdout.splitlines() if x.startswith("scheduler-consumer"))
    assert f"restarts {DELIVERY_LIMIT + 1}" in line and "CRASH LOOP" in line and DELIVERY_LIMIT + 1 >= CRASH_LOOP_EXITS
    ready = s.get("scheduler", "/readyz").json()
    assert ready["detail"]["processes"]["scheduler-consumer"]["crash_loop"] is True
    assert ready["detail"]["dead_letters"] == {queue_for("scheduler").dead_letter_queue: len(KINDS) + 1}
    assert _obligation_status(s, REPLAYED) != "submitted_on_time" and _fulfilments(s, REPLAYED) == []

    s.stack.stop("scheduler-consumer")  # the fault is fixed: the consumer runs without the failpoint
    s.stack.start("scheduler-consumer")
    shown = s.dvcq("dlq", "show", "--queue", "scheduler", "--id", event_id)
    assert shown.returncode == 0 and event_id in shown.stdout and "delivery_limit" in shown.stdout
    replayed = s.dvcq("dlq", "replay", "--queue", "scheduler", "--id", event_id)
    assert replayed.returncode == 0, replayed.stderr
    assert f"{event_id} replayed to {queue_for('scheduler').queue}" in replayed.stdout

    wait_for(lambda: _obligation_status(s, REPLAYED) == "submitted_on_time", timeout=120, what="the replayed report")
    s.wait_status(PERIOD, REPLAYED, "submitted_on_time", timeout=120)
    again = s.dvcq("dlq", "replay", "--queue", "scheduler", "--id", event_id)
    assert again.returncode == 1 and "not in" in again.stderr  # it left the dead-letter queue once, for good
    wait_for(lambda: len(_fulfilments(s, REPLAYED)) == 1, timeout=30, what="one fulfilment")
    # invariants: every accepted report is on the board once (one fulfilment each), no alert twice, the read
    # models equal a rebuild, and the dead-letter queues hold only the poison
    assert len(_fulfilments(s, REPORTER)) == 1
    for q in queues():
        assert {x["id"] for x in s.dead_letters(q.service)} == {f"poison:{q.service}:{k}" for k in KINDS}
    assert_invariants(s, dead_letters={q.service: len(KINDS) for q in queues()})
