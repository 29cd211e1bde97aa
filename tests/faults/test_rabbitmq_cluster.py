"""A three-node RabbitMQ cluster (issue 13, Done when 5), over real processes on the test plan synthetic-300: the
test starts its own cluster (`deploy/rabbitmq-cluster.sh --test`) and a stack whose processes get the three
addresses in AMQP_URL. Every quorum queue of the topology has a replica on each node. While 300 units post
their first report, the node holding most of the stack's connections is stopped; its clients reconnect to the
other two, which keep every quorum queue going (two of three replicas are a majority). Every report reaches
the compliance board once, no message is dead-lettered, and the supervisor never restarted a process.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.plan import load_plan
from shared.settings import ROOT
from shared.topology import queues
from tests.support import (
    SUBMITTED,
    Answer,
    OwnCluster,
    TestStack,
    own_stack,
    post_report_until_answered,
    published_events,
    queue_depths,
    wait_for,
)

PLAN = ROOT / "tests" / "plans" / "synthetic-300"
PERIOD = "2025-H1"
CLIENTS = 8


def board_rows(s: TestStack) -> list[dict]:
    """Every unit's row of the period's board (`units`; `items` once the board is paged)."""
    board = s.compliance(PERIOD)
    return board["items"] if "items" in board else board["units"]


@pytest.mark.timeout(1200)
def test_300_first_reports_while_a_cluster_node_stops_reach_the_board_once_each() -> None:
    period = load_plan(PLAN).period(PERIOD)
    assert period is not None
    units = [u.code for u in load_plan(PLAN).expected_units(period)]
    assert len(units) == 300
    cluster = OwnCluster("c")
    try:
        cluster.start()
        with own_stack("c", cluster, env={"DVCQ_PLAN": str(PLAN)}) as s:
            nodes = sorted(cluster.nodes)
            assert len(nodes) == 3 and "," in s.amqp_url
            members = cluster.queue_members(s.space.vhost)
            for q in queues():
                for name in (q.queue, q.dead_letter_queue):
                    assert members.get(name) == nodes, f"{name} replicas: {members.get(name)}"
            before = {name: (p["pid"], p["restarts"]) for name, p in s.processes().items()}

            done: list[tuple[str, int | None, list[Answer]]] = []
            lock = threading.Lock()

            def submit(agency: str) -> None:
                resp, answers = post_report_until_answered(
                    s, agency, PERIOD, {"indicators": {"tcd_luot": 2}}, key=f"c-{agency}", timeout=300
                )
                with lock:
                    done.append((agency, resp.status_code if resp is not None else None, answers))

            def accepted() -> int:
                with lock:
                    return len(done)

            with ThreadPoolExecutor(CLIENTS) as pool:
                futures = [pool.submit(submit, unit) for unit in units]
                # the fault follows the burst's progress, not the wall clock
                wait_for(lambda: accepted() >= 100, timeout=300, what="the first 100 reports")
                held = cluster.connections_by_node(s.space.vhost)
                victim = max(held, key=lambda node: held[node])
                cluster.stop_node(victim)
                stopped_after = accepted()
                for future in futures:
                    future.result()
            print(f"\nstopped {victim} (held {held}) after {stopped_after} reports")
            assert stopped_after < 300, "the burst ended before the node stopped: nothing was tested"

            statuses = Counter(status for _, status, _ in done)
            assert statuses == {201: 300}, statuses
            moved = cluster.connections_by_node(s.space.vhost)
            assert victim not in moved and sum(moved.values()) > 0, moved

            def all_submitted() -> list[dict]:
                rows = board_rows(s)
                return rows if sum(1 for r in rows if r["status"] in SUBMITTED) >= 300 else []

            rows = wait_for(all_submitted, timeout=600, interval=2.0, what="300 submitted units on the board")
            submitted = [r["agency"] for r in rows if r["status"] in SUBMITTED]
            assert len(submitted) == 300 and sorted(submitted) == sorted(units)
            assert not [agency for agency, n in Counter(r["agency"] for r in rows).items() if n > 1]

            events = published_events(s, "intake", "report.submitted")
            assert sorted(e["data"]["agency"] for e in events) == sorted(units)  # each report published once

            depths = queue_depths(s)
            assert not any(depths.get(q.dead_letter_queue) for q in queues()), depths
            after = {name: (p["pid"], p["restarts"]) for name, p in s.processes().items()}
            assert after == before, f"processes restarted: {before} -> {after}"
    finally:
        cluster.close()
