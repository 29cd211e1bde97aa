"""Rate limits on the real store (FerretDB here, MongoDB elsewhere): counted by insert-once slots shared by every
process, per client address and per token subject through intake's real `create_app` wiring, and pruned.

Two `RateLimiter`s (or two apps) on one database stand for two gunicorn workers: each keeps its own hints, and
only the store is shared. The real-process test over both gunicorn workers is tests/faults/test_login_limit.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from pymongo import MongoClient

from services.intake.accounts.domain import HISTORY_SECONDS, LoginAttempt
from services.intake.app import create_app
from services.intake.store import LOGIN_ATTEMPTS, MongoUserStore
from shared.auth import issue_token
from shared.ratelimit import RATE_LIMITS, Limit, RateLimited, RateLimiter, expiry_bucket
from shared.settings import Settings
from tests.support import Vhost

T0 = 1_800_000_000.0  # a window boundary for windows of 10 s and 60 s
LOGIN_URL = "/api/v1/login"


class Clock:
    """A real-clock stand-in the test moves by hand (the limiter takes `now` as a function)."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def space() -> Iterator[Vhost]:
    with Vhost("rl") as v:
        yield v


@pytest.fixture
def db(space: Vhost) -> Iterator[Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(space.mongo_url, tz_aware=True)
    yield client[f"{space.prefix}intake"]
    client.close()


def _allowed(limiter: RateLimiter, limit: Limit, key: str) -> bool:
    try:
        limiter.hit(limit, key)
    except RateLimited:
        return False
    return True


def test_two_processes_share_one_exact_count_and_a_new_window_starts_afresh(db: Any) -> None:
    clock = Clock()
    first, second = RateLimiter(db[RATE_LIMITS], now=clock), RateLimiter(db[RATE_LIMITS], now=clock)
    limit = Limit("login-account", 4, 10, "Quá nhiều lần đăng nhập. Vui lòng thử lại sau {wait}.")
    answers = [_allowed(limiter, limit, "a@b.vn") for limiter in (first, second, first, second, first, second)]
    assert answers == [True, True, True, True, False, False]
    clock.t += 7.5
    with pytest.raises(RateLimited) as refused:
        second.hit(limit, "a@b.vn")
    assert refused.value.retry_after == 3  # the window's end, rounded up
    assert refused.value.message == "Quá nhiều lần đăng nhập. Vui lòng thử lại sau 3 giây."
    assert _allowed(first, limit, "khac@b.vn")  # another key has its own window
    slots = sorted(d["slot"] for d in db[RATE_LIMITS].find({"limit": "login-account", "key": "a@b.vn"}))
    assert slots == [1, 2, 3, 4]  # refused requests claim nothing

    clock.t = T0 + 10
    assert _allowed(second, limit, "a@b.vn") and _allowed(first, limit, "a@b.vn")


def test_a_large_limit_spends_several_requests_per_slot_and_never_allows_more_than_the_limit(db: Any) -> None:
    clock = Clock()
    workers = [RateLimiter(db[RATE_LIMITS], now=clock) for _ in range(2)]
    limit = Limit("api", 200, 60, "{wait}")
    allowed = sum(_allowed(workers[i % 2], limit, "chuyenvien@snv") for i in range(260))
    assert 200 - 2 * (limit.per_slot - 1) <= allowed <= 200
    assert db[RATE_LIMITS].count_documents({"limit": "api"}) == limit.slots  # one insert per slot, not per request


def test_ended_windows_are_pruned_at_a_bounded_rate_so_unknown_keys_do_not_pile_up(db: Any) -> None:
    clock = Clock()
    limiter = RateLimiter(db[RATE_LIMITS], now=clock)
    limit = Limit("login-address", 100, 10, "{wait}")
    for n in range(30):
        limiter.hit(limit, f"khong-co-{n}@x.vn")
    assert db[RATE_LIMITS].count_documents({}) == 30
    assert {d["expires_bucket"] for d in db[RATE_LIMITS].find({})} == {expiry_bucket(T0 + 10)}
    clock.t += 30  # the window ended, but the last prune was at T0: not due yet
    limiter.hit(limit, "moi@x.vn")
    assert db[RATE_LIMITS].count_documents({}) == 31
    clock.t = T0 + 61
    limiter.hit(limit, "moi-nua@x.vn")
    assert [d["key"] for d in db[RATE_LIMITS].find({})] == ["moi-nua@x.vn"]


def test_old_login_attempts_of_unknown_emails_are_pruned(db: Any) -> None:
    users = MongoUserStore(db)
    users.ensure_indexes()
    for n in range(40):
        users.record_attempt(LoginAttempt(email=f"khong-co-{n}@x.vn", at=T0 + n, ok=False))
    assert db[LOGIN_ATTEMPTS].count_documents({}) == 40
    later = T0 + HISTORY_SECONDS + 100
    users.record_attempt(LoginAttempt(email="a@b.vn", at=later - 1, ok=False))
    assert db[LOGIN_ATTEMPTS].count_documents({}) == 1  # the earlier ones can no longer lock anything (by bucket,
    # from the mark the first prune of this store left at T0)
    assert users.attempts("a@b.vn", since=later - HISTORY_SECONDS) == [LoginAttempt("a@b.vn", later - 1, False)]


# --- through intake's app -------------------------------------------------------------------------------


def _app(space: Vhost, **env: str) -> Flask:
    return create_app(Settings.from_env({**space.env, **env}))


def _login(client: Any, email: str, address: str, forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        LOGIN_URL,
        json={"email": email, "password": "sai mật khẩu"},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_logins_from_one_address_are_limited_across_workers_whatever_the_email(space: Vhost, db: Any) -> None:
    env = {"DVCQ_LOGIN_LIMIT_PER_ADDRESS": "3", "DVCQ_LOGIN_WINDOW_SECONDS": "300"}
    workers = [_app(space, **env).test_client(), _app(space, **env).test_client()]
    statuses = [_login(workers[n % 2], f"nguoi-{n}@x.vn", "198.51.100.7").status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    refused = _login(workers[1], "nguoi-moi@x.vn", "198.51.100.7")
    assert refused.status_code == 429, refused.json
    assert refused.json["error"]["code"] == "rate_limited"
    assert refused.json["error"]["message"].startswith("Quá nhiều lần đăng nhập.")
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert db[LOGIN_ATTEMPTS].count_documents({"email": "nguoi-moi@x.vn"}) == 0  # refused before any check
    assert _login(workers[0], "nguoi-moi@x.vn", "198.51.100.8").status_code == 401  # another address


def test_behind_a_trusted_proxy_the_limit_follows_x_forwarded_for(space: Vhost) -> None:
    env = {"DVCQ_LOGIN_LIMIT_PER_ADDRESS": "2", "DVCQ_TRUSTED_PROXIES": "127.0.0.1"}
    client = _app(space, **env).test_client()
    for n in range(2):
        assert _login(client, f"a{n}@x.vn", "127.0.0.1", forwarded="203.0.113.1").status_code == 401
    assert _login(client, "a9@x.vn", "127.0.0.1", forwarded="203.0.113.1").status_code == 429
    assert _login(client, "a9@x.vn", "127.0.0.1", forwarded="203.0.113.1, 203.0.113.2").status_code == 401
    untrusted = _app(space, DVCQ_LOGIN_LIMIT_PER_ADDRESS="2").test_client()  # X-Forwarded-For ignored
    statuses = [_login(untrusted, "b@x.vn", "127.0.0.1", forwarded=f"192.0.2.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 429]


def test_the_api_is_limited_per_token_subject_across_workers(space: Vhost) -> None:
    env = {"DVCQ_API_LIMIT_PER_SUBJECT": "3", "DVCQ_API_WINDOW_SECONDS": "60"}
    workers = [_app(space, **env).test_client(), _app(space, **env).test_client()]
    secret = space.env["DVCQ_SECRET"]

    def get(worker: int, sub: str) -> Any:
        token = issue_token(secret, sub=sub, role="home_affairs")
        return workers[worker].get("/api/v1/templates/SNV/2019-H1", headers={"Authorization": f"Bearer {token}"})

    assert [get(n % 2, "chuyenvien@snv").status_code for n in range(3)] == [200, 200, 200]
    refused = get(0, "chuyenvien@snv")  # a new token of the same person counts the same
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert refused.json["error"]["message"].startswith("Quá nhiều yêu cầu từ tài khoản này.")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert get(1, "chuyenvien@snv").status_code == 429
    assert get(1, "nguoi-khac@snv").status_code == 200
