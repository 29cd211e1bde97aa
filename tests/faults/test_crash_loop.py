"""A message that kills its consumer every time, over real processes: the notifier's consumer dies on one
event id (a failpoint), the supervisor restarts it each time with backoff, the broker dead-letters the event
after the delivery limit, and every neighbour is handled once; the crash loop shows in `dvcq stack status`
and in the notifier's /readyz."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from shared.topology import DELIVERY_LIMIT, queue_for, queues
from tests.support import TestStack, assert_invariants, own_stack, wait_for, wait_quiet
from tests.support import ledger as whole_ledger

KILLER = "obligation:H_CAUKE:2019-H1:g1:reminder_7"
LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")


@pytest.fixture(scope="module")
def crash_stack() -> Iterator[TestStack]:
    with own_stack("c") as s:
        s.stack.stop("notifier-digest")  # nothing of this test is in a digest
        wait_quiet(s)
        yield s


def _level_events_handled(s: TestStack) -> list[dict]:
    records = s.log_records("notifier-consumer")
    return [r for r in records if r.get("msg") == "event handled" and r.get("event_type") in LEVEL_TYPES]


def test_a_message_that_kills_its_consumer_is_dead_lettered_after_the_limit_and_its_neighbours_pass(
    crash_stack: TestStack,
) -> None:
    s = crash_stack
    s.stack.stop("notifier-consumer")
    s.stack.start("notifier-consumer", extra_env={"DVCQ_FAILPOINT": f"notifier.consume:{KILLER}"})
    s.set_clock("2019-06-03T08:00:00+07:00")  # reminder_7 to the 29 units, the staff list's escalation_2 to 29
    (letter,) = wait_for(
        lambda: [x for x in s.dead_letters("notifier") if x["id"] == KILLER],
        timeout=300,
        interval=1,
        what="the broker to dead-letter the killer event after the delivery limit",
    )
    assert letter["reason"] == "delivery_limit"
    wait_quiet(s)
    published = [
        e["id"] for e in s.get("scheduler", "/api/v1/events?limit=1000").json()["items"] if e["type"] in LEVEL_TYPES
    ]
    neighbours = sorted(set(published) - {KILLER})
    assert KILLER in published and len(neighbours) >= 50
    handled = wait_for(
        lambda: (h := _level_events_handled(s)) and len(h) >= len(neighbours) and h,
        timeout=180,
        what="every neighbour handled",
    )
    counts = Counter(r["event_id"] for r in handled)
    assert sorted(counts) == neighbours and set(counts.values()) == {1}, counts.most_common(3)
    assert {r["delivery_count"] for r in handled} == {0}  # none was in flight when the consumer died

    # the supervisor restarted the consumer after each of its DELIVERY_LIMIT + 1 deaths, and says so
    consumer = wait_for(
        lambda: (p := s.processes()["notifier-consumer"])["state"] == "running" and p, timeout=60, what="running"
    )
    assert [e["code"] for e in consumer["exits"]] == [86] * (DELIVERY_LIMIT + 1), consumer
    assert consumer["restarts"] == DELIVERY_LIMIT + 1 and consumer["crash_loop"] is True
    status = s.dvcq("stack", "status")
    line = next(x for x in status.stdout.splitlines() if x.startswith("notifier-consumer"))
    assert f"restarts {DELIVERY_LIMIT + 1}" in line and "last exit 86" in line and "CRASH LOOP" in line, line
    detail = s.get("notifier", "/readyz").json()["detail"]
    assert detail["processes"]["notifier-consumer"]["crash_loop"] is True
    assert detail["processes"]["notifier-consumer"]["restarts"] == DELIVERY_LIMIT + 1
    assert detail["dead_letters"] == {queue_for("notifier").dead_letter_queue: 1}
    metrics = s.get("notifier", "/metrics").text
    assert 'dvcq_process_crash_loop{process="notifier-consumer"} 1.0' in metrics
    assert f'dvcq_dead_letter_messages{{queue="{queue_for("notifier").dead_letter_queue}"}} 1.0' in metrics

    # invariants: each neighbour's alerts are in the ledger, the killer's are not; only it is dead-lettered
    ledger = whole_ledger(s)
    decided = Counter(n["event_id"] for n in ledger if n["event_type"] in LEVEL_TYPES)
    assert set(decided) == set(neighbours)
    assert len({n["id"] for n in ledger}) == len(ledger)
    for q in queues():
        assert [x["id"] for x in s.dead_letters(q.service)] == ([KILLER] if q.service == "notifier" else [])
    assert_invariants(s, dead_letters={"notifier": 1})
