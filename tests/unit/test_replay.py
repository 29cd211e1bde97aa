"""The replay demo: reproducible synthetic units, bodies intake's schema accepts, the whole event feed read."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
import requests

from services.intake.schemas import build_report_schema, load_report
from shared import replay
from shared.plan import load_plan
from shared.replay import _behaviour, _body, _schedule, read_feed, replay_periods
from shared.settings import ROOT
from shared.timerules import at_local

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")


def test_behaviour_is_fixed_by_the_seed_and_mostly_on_time() -> None:
    assert [_behaviour(random.Random(7)) for _ in range(3)] == [_behaviour(random.Random(7)) for _ in range(3)]
    rng = random.Random(2019)
    sample = [_behaviour(rng) for _ in range(1000)]
    on_time = sum(1 for d in sample if d is not None and d <= 0)
    never = sum(1 for d in sample if d is None)
    assert 600 < on_time < 800 and 50 < never < 150


def test_synthetic_reports_pass_the_units_template() -> None:
    for agency, period in (("H_CAUKE", "2019-H1"), ("DAI_PTTH", "2019-FY"), ("TTR", "2019-STAFF")):
        template = PLAN.template_for(agency, period)
        assert template is not None
        load_report(build_report_schema(template), _body(agency, period))


def test_three_plan_years_are_scheduled_and_no_report_is_sent_before_its_year_opens() -> None:
    due = _schedule(PLAN, replay_periods(PLAN, date(2021, 12, 31)), random.Random(2019))
    posted = {period for reports in due.values() for _, period in reports}
    assert {p.split("-")[0] for p in posted} == {"2019", "2020", "2021"}
    assert posted >= {"2020-Q1", "2021-FY", "2019-STAFF"}
    for day, reports in due.items():
        for agency, key in reports:
            period = PLAN.period(key)
            assert period is not None and PLAN.is_open(period, at_local(day, 8)), (day, agency, key)
    assert PLAN.open_years(at_local(date(2021, 12, 31), 8)) == (2019, 2020, 2021, 2022)  # 2022 opened, not due


class Feed:
    """A producer's `GET /api/v1/events?after=&limit=` over `count` events, as shared.web serves it."""

    def __init__(self, count: int) -> None:
        self.items = [{"cursor": f"{i:020d}:e{i}", "id": f"e{i}", "type": "obligation.overdue"} for i in range(count)]
        self.afters: list[str | None] = []

    def page(self, after: str | None, limit: int = 1000) -> list[dict[str, Any]]:
        self.afters.append(after)
        return [e for e in self.items if after is None or e["cursor"] > after][:limit]


def test_the_feed_is_read_page_by_page_until_an_empty_page() -> None:
    feed = Feed(2345)
    assert read_feed(feed.page) == feed.items
    assert feed.afters == [None, feed.items[999]["cursor"], feed.items[1999]["cursor"], feed.items[-1]["cursor"]]


def test_an_empty_feed_is_one_request() -> None:
    feed = Feed(0)
    assert read_feed(feed.page) == [] and feed.afters == [None]


def test_a_feed_whose_cursor_does_not_move_is_an_error_not_a_loop() -> None:
    stuck = [{"cursor": "c1", "id": "e1"}]
    with pytest.raises(RuntimeError):
        read_feed(lambda after: stuck)


def test_the_scheduler_feed_is_requested_with_the_last_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Feed(1500)
    urls: list[str] = []

    class Answer:
        status_code = 200

        def __init__(self, items: list[dict[str, Any]]) -> None:
            self.items = items

        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict[str, Any]:
            return {"items": self.items}

    def request(method: str, url: str, *, params: dict[str, Any], headers: dict[str, str], timeout: float) -> Answer:
        assert method == "GET"
        urls.append(url)
        return Answer(feed.page(params.get("after"), int(params["limit"])))

    monkeypatch.setattr(replay.requests, "request", request)
    assert replay.event_feed("http://scheduler", {}) == feed.items
    assert urls == ["http://scheduler/api/v1/events"] * 3
    assert feed.afters == [None, feed.items[999]["cursor"], feed.items[-1]["cursor"]]


class Reply:
    def __init__(self, status_code: int, retry_after: str | None = None) -> None:
        self.status_code = status_code
        self.headers = {"Retry-After": retry_after} if retry_after else {}


def test_a_request_is_sent_again_after_no_answer_a_5xx_or_a_429_with_the_same_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[Any] = [requests.ConnectionError(), Reply(503, "1"), Reply(429, "2"), Reply(201)]
    sent: list[dict[str, Any]] = []
    pauses: list[float] = []

    def request(method: str, url: str, **kwargs: Any) -> Reply:
        sent.append(kwargs["headers"])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(replay.requests, "request", request)
    monkeypatch.setattr(replay.time, "sleep", pauses.append)
    headers = {"Idempotency-Key": "replay-1-H_CAUKE-2019-H1"}
    assert replay._send("POST", "http://intake/api/v1/reports", headers=headers).status_code == 201
    assert sent == [headers] * 4
    assert pauses == [0.2, 1.0, 2.0]  # the Retry-After of each refusal is respected


def test_a_4xx_is_an_answer_and_a_service_that_never_comes_back_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay.time, "sleep", lambda _: None)
    monkeypatch.setattr(replay.requests, "request", lambda *a, **k: Reply(409))
    assert replay._send("POST", "http://intake/api/v1/reports").status_code == 409

    def refused(*args: Any, **kwargs: Any) -> Reply:
        raise requests.ConnectionError()

    monkeypatch.setattr(replay.requests, "request", refused)
    with pytest.raises(requests.ConnectionError):
        replay._send("GET", "http://intake/healthz", patience=0.0)


def test_a_day_reads_the_feed_only_after_the_last_days_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Feed(30)
    monkeypatch.setattr(replay, "event_feed", lambda producer, headers, after=None: read_feed(feed.page, after))
    monkeypatch.setattr(replay.time, "sleep", lambda seconds: None)
    first, cursor = replay._settled_events("http://scheduler", {}, None)
    assert first == feed.items and cursor == feed.items[-1]["cursor"]
    feed.items.append({"cursor": f"{30:020d}:e30", "id": "e30", "type": "obligation.escalated"})
    feed.afters.clear()
    second, cursor = replay._settled_events("http://scheduler", {}, cursor)
    assert second == feed.items[-1:] and cursor == feed.items[-1]["cursor"]
    assert feed.afters[0] == feed.items[-2]["cursor"]  # the day's first read starts after yesterday's news
