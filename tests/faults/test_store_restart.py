"""Store restarted during load (issue 11, Done when 4), over real processes on a FerretDB of the test's own:
while every unit of the plan posts its first report, the store is stopped and started again. Every request
gets 201, 409 or 503 with Retry-After (never a 500, none slower than 10 s), and clients that send again with
the same Idempotency-Key end with exactly one report each.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import (
    Answer,
    OwnStore,
    TestStack,
    accepted_reports,
    assert_invariants,
    own_stack,
    post_report_until_answered,
    wait_for,
)

PERIOD = "2019-H1"
CLIENTS = 6
SLOWEST_ANSWER = 10.0


@pytest.fixture(scope="module")
def store_stack() -> Iterator[tuple[TestStack, OwnStore]]:
    store = OwnStore("st").start()
    try:
        with own_stack("st", env={"MONGO_URL": store.url}) as s:
            yield s, store
    finally:
        store.close()


def test_requests_during_a_store_restart_get_201_409_or_503_and_one_report_each(store_stack) -> None:
    s, store = store_stack
    units = [u["code"] for u in s.items("scheduler", "/api/v1/units") if u["reports"]]
    todo = list(units)
    answers: list[Answer] = []
    firsts: dict[str, int | None] = {}
    again: list[int | None] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(n: int) -> None:
        """First reports while any is left, then the same units again with new keys (409) until `enough`."""
        tries = 0
        while not enough.is_set():
            with lock:
                agency = todo.pop() if todo else None
            first = agency is not None
            agency = agency or units[(n + tries) % len(units)]
            tries += 1
            key = f"st-{agency}" if first else f"st-{agency}-again-{n}-{tries}"
            resp, _ = post_report_until_answered(
                s, agency, PERIOD, {"indicators": {"tcd_luot": 5}}, key=key, on_answer=record
            )
            with lock:
                status = resp.status_code if resp is not None else None
                if first:
                    firsts[agency] = status
                else:
                    again.append(status)

    def record(answer: Answer) -> None:
        with lock:
            answers.append(answer)

    def count(status: int) -> int:
        with lock:
            return sum(1 for a in answers if a.status == status)

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, n) for n in range(CLIENTS)]
        try:
            wait_for(lambda: count(201) >= 3, timeout=120, what="the first reports")
            store.stop()
            # Back once clients have met the outage several times (progress, not a fixed pause).
            wait_for(lambda: count(503) >= CLIENTS, timeout=120, what="503 answers while the store is down")
            store.start()
            with lock:
                after = len(answers)
            wait_for(lambda: len(firsts) == len(units) and len(answers) >= after + 3 * CLIENTS, timeout=180,
                     what="every first report answered and the store serving again")  # fmt: skip
        finally:
            enough.set()
        for future in futures:
            future.result()

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 409, 503}, statuses
    assert all(a.retry_after for a in answers if a.status == 503), "a 503 without Retry-After"
    slow = [a for a in answers if a.seconds > SLOWEST_ANSWER]
    assert not slow, slow
    assert Counter(firsts.values()) == {201: len(units)}, firsts
    assert set(again) == {409}, Counter(again)
    reports = accepted_reports(s, PERIOD)
    assert sorted(r["agency"] for r in reports) == sorted(units)
    assert all(r["revision"] == 1 for r in reports)
    assert_invariants(s)
