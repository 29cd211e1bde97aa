"""The login limit over real processes: intake runs under gunicorn with two workers (deploy/gunicorn.conf.py,
WEB_CONCURRENCY=2 in every test stack), and a burst of twice the per-account limit, spread over both workers,
gets exactly the limit's worth of answers and 429 with Retry-After and a Vietnamese message for the rest,
because the count lives in the store, not in a worker. After the window the right password works again.

The stack's window is a few seconds (DVCQ_LOGIN_WINDOW_SECONDS) and the limit (DVCQ_LOGIN_LIMIT_PER_ACCOUNT)
is below the lockout's five failures, so what refuses is the rate limit alone. Windows are fixed (aligned on
the epoch): the burst starts just after a window begins, and a round that straddled a window's end or that one
worker served alone proves nothing, so it is played again with another account (at most three rounds).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from shared.ratelimit import RATE_LIMITS
from tests.support import TestStack, make_account, own_stack, wait_for

LIMIT = 4
WINDOW = 8
PASSWORD = "Dân vận 2019!"
ACCOUNTS = [f"quan.sat.{n}@travinh.gov.vn" for n in range(3)]


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    env = {"DVCQ_LOGIN_LIMIT_PER_ACCOUNT": str(LIMIT), "DVCQ_LOGIN_WINDOW_SECONDS": str(WINDOW)}
    with own_stack("l", env=env) as s:
        for email in ACCOUNTS:
            make_account(s, email, "Quan sát viên", PASSWORD, role="observer")
        yield s


def _login(s: TestStack, email: str, password: str) -> requests.Response:
    return requests.post(s.url("intake", "/api/v1/login"), json={"email": email, "password": password}, timeout=30)


@pytest.fixture(scope="module")
def db(stack: TestStack) -> Iterator[tuple[Any, Any]]:
    """Intake's databases of the stack (its own, its rate limits'), read directly to see which worker claimed
    each slot and what the lockout recorded."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.space.mongo_url, tz_aware=True)
    yield client[f"{stack.space.prefix}intake"], client[f"{stack.space.prefix}intake_ratelimit"]
    client.close()


def _worker_pids(s: TestStack) -> set[int]:
    """The pids of intake's gunicorn workers, seen through /readyz until both have answered."""
    seen: set[int] = set()

    def both() -> bool:
        seen.add(requests.get(s.url("intake", "/readyz"), timeout=15).json()["pid"])
        return len(seen) == 2

    wait_for(both, timeout=60, interval=0.05, what="both intake workers answering")
    return seen


def _burst(s: TestStack, email: str) -> tuple[list[requests.Response], float, float]:
    """2 × LIMIT wrong passwords at once, from as many connections; returns the answers, start and end times."""
    wait_for(lambda: time.time() % WINDOW < 0.5, timeout=2 * WINDOW, interval=0.05, what="a window's start")
    start_line = threading.Barrier(2 * LIMIT)

    def attempt(n: int) -> requests.Response:
        start_line.wait(timeout=30)
        return _login(s, email, f"sai mật khẩu {n}")

    started = time.time()
    with ThreadPoolExecutor(2 * LIMIT) as pool:
        answers = list(pool.map(attempt, range(2 * LIMIT)))
    return answers, started, time.time()


@pytest.mark.timeout(300)
def test_twice_the_login_limit_over_both_workers_gets_429_and_the_password_works_after_the_window(
    stack: TestStack, db: tuple[Any, Any]
) -> None:
    intake, limits = db
    workers = _worker_pids(stack)
    earlier: set[str] = set()  # slots claimed by the rounds before: each round reads only its own claims
    for email in ACCOUNTS:
        answers, started, ended = _burst(stack, email)
        claims = [d for d in limits[RATE_LIMITS].find({"limit": "login-account"}) if d["_id"] not in earlier]
        earlier |= {d["_id"] for d in claims}
        claimers = {int(d["by"].rsplit(":", 1)[1]) for d in claims}
        assert claimers <= workers, (claimers, workers)
        if started // WINDOW == ended // WINDOW and claimers == workers:
            break
    else:
        pytest.fail(f"no round fell within one window over both workers; last claims by {claimers}")

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * LIMIT + [429] * LIMIT, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 429):
        body = refused.json()["error"]
        assert body["code"] == "rate_limited", body
        assert body["message"].startswith("Quá nhiều lần đăng nhập. Vui lòng thử lại sau"), body
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    window_ends = (started // WINDOW + 1) * WINDOW

    right = _login(stack, email, PASSWORD)
    if time.time() < window_ends - 0.5:  # still inside the burst's window: refused, the password unchecked
        assert right.status_code == 429, right.text
        assert 1 <= int(right.headers["Retry-After"]) <= WINDOW

    def logged_in() -> requests.Response | None:
        resp = _login(stack, email, PASSWORD)
        assert resp.status_code in (200, 429), resp.text
        return resp if resp.status_code == 200 else None

    welcome = wait_for(logged_in, timeout=WINDOW + 60, interval=0.5, what="the right password after the window")
    assert time.time() >= window_ends
    assert welcome.json()["role"] == "observer" and welcome.json()["token"]

    # refused attempts changed nothing: the lockout saw the allowed failures and the success only
    attempts = list(intake["login_attempts"].find({"email": email}))
    assert sorted(a["ok"] for a in attempts) == [False] * LIMIT + [True], attempts
