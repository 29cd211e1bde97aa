"""`dvcq replay`: plan years on a running local stack, a demo (not a test): 2019 by default, any span with
`--start`/`--end` (2019-03-14 to 2021-12-31 runs three plan years; the scheduler opens each year as the clock
reaches it, on 15/12 of the year before for the Trà Vinh plan).

Synthetic behaviour per unit, fixed by a seed: most report a few days before the deadline, some late, some
never. The simulated clock is stepped day by day at 08:00 (waiting on the scheduler's `processed_up_to`),
reports are posted through intake's API with each unit's own token, and each day prints what the
compliance board and the ladder show. The ladder's events come from the scheduler's whole event feed, read
page by page (`after` = the last item's cursor) until an empty page, so a plan of any size loses none.

The replay is a careful client, so it also drives the chaos run (`deploy/chaos.sh`, `tests/chaos.py`): every
request is sent again after no answer, a 5xx or a 429 (after its Retry-After) for up to PATIENCE seconds, a
report with the same Idempotency-Key each time, so a service restarted under it costs time, never a report.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from shared.auth import issue_token
from shared.formatting import vn_date
from shared.plan import Period, Plan, load_plans
from shared.settings import Settings
from shared.timerules import at_local, deadline_day, parse_instant

LEVEL_TYPES = ("obligation.reminder_due", "obligation.overdue", "obligation.escalated")
PAGE = 1000  # the most a producer's event feed serves per request
PATIENCE = 600.0  # seconds a request is sent again, or a pass waited for, before the replay gives up


def _send(method: str, url: str, *, patience: float = PATIENCE, **kwargs: Any) -> requests.Response:
    """One request, sent again after no answer, a 5xx or a 429 until another answer or `patience` seconds."""
    deadline = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            resp = requests.request(method, url, timeout=15, **kwargs)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        else:
            if (resp.status_code < 500 and resp.status_code != 429) or time.monotonic() > deadline:
                return resp
            retry_after = resp.headers.get("Retry-After", "")
            if retry_after.isdigit():
                pause = float(retry_after)
        time.sleep(min(pause, 5.0))
        pause = min(pause * 2, 5.0)


def _behaviour(rng: random.Random) -> int | None:
    """Days after the deadline day the unit reports (negative = before), or None for never."""
    roll = rng.random()
    if roll < 0.7:
        return -rng.randint(0, 6)
    if roll < 0.9:
        return rng.randint(1, 14)
    return None


def _body(agency: str, period: str) -> dict[str, Any]:
    if period.endswith("STAFF"):
        person = {"ho_ten": "Cán bộ đầu mối", "chuc_vu": "Chuyên viên", "email": f"daumoi@{agency.lower()}.example"}
        return {"agency": agency, "period": period, "staff": [{**person, "alert_role": "focal"}]}
    narratives = {f"area_{a}": "Đã triển khai theo Kế hoạch." for a in range(1, 6)}
    return {"agency": agency, "period": period, "indicators": {"tcd_luot": 3, "tcd_nguoi": 4}, "narratives": narratives}


def replay_periods(plan: Plan, end: date) -> list[Period]:
    """The periods a replay ending on `end` runs: those due by then, of every year the plan opened by then (a year
    opened on 15/12 is due after the replay ends)."""
    return [p for p in plan.open_periods(at_local(end, 8)) if p.deadline_day <= end]


def _schedule(plan: Plan, periods: Iterable[Period], rng: random.Random) -> dict[date, list[tuple[str, str]]]:
    """The day each expected unit reports each period, or never (`_behaviour`), by day."""
    due: dict[date, list[tuple[str, str]]] = {}
    for period in periods:
        assert period.due_before is not None
        for unit in plan.expected_units(period):
            offset = _behaviour(rng)
            if offset is not None:
                day = deadline_day(period.due_before) + timedelta(days=offset)
                due.setdefault(day, []).append((unit.code, period.key))
    return due


def run_replay(
    settings: Settings,
    *,
    start: date,
    end: date,
    pause: float,
    seed: int,
    on_day: Callable[[date], None] | None = None,
) -> float:
    """Replay the plan from `start` to `end`; return the wall time in seconds. `on_day` is told each simulated
    day before the clock moves to it (the chaos run schedules its broker and store restarts by it)."""
    plans = load_plans(settings.plan_paths)  # every plan the stack runs (their unit codes are distinct)
    rng = random.Random(seed)
    urls = settings.service_urls
    admin = {"Authorization": f"Bearer {issue_token(settings.secret, sub='dvcq-replay', role='admin')}"}
    periods = [(plan, period) for plan in plans for period in replay_periods(plan, end)]
    due: dict[date, list[tuple[str, str]]] = {}
    for plan in plans:
        for day, reports in _schedule(plan, replay_periods(plan, end), rng).items():
            due.setdefault(day, []).extend(reports)
    began = time.monotonic()
    seen_levels: set[str] = set()
    cursor: str | None = None
    day = start
    while day <= end:
        if on_day is not None:
            on_day(day)
        instant = at_local(day, 8)
        moved = _send("POST", f"{urls['scheduler']}/api/v1/clock", json={"now": instant.isoformat()}, headers=admin)
        moved.raise_for_status()
        _wait_processed(urls["scheduler"], admin, instant)
        posted = 0
        for agency, period_key in due.get(day, []):
            token = issue_token(settings.secret, sub=f"daumoi@{agency.lower()}", role="agency", agency=agency)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"replay-{seed}-{agency}-{period_key}"}
            resp = _send("POST", f"{urls['intake']}/api/v1/reports", json=_body(agency, period_key), headers=headers)
            posted += resp.status_code == 201
        levels, cursor = _settled_events(urls["scheduler"], admin, cursor)
        new = [e for e in levels if e["id"] not in seen_levels]
        seen_levels.update(e["id"] for e in new)
        if posted or new:
            summary = ", ".join(f"{lv}: {n}" for lv, n in _count(new).items())
            print(f"{vn_date(day)}  báo cáo mới: {posted:2d}  nhắc/đôn đốc: {summary or '-'}", flush=True)
        time.sleep(pause)
        day += timedelta(days=1)
    several = len({plan.id for plan, _ in periods}) > 1
    for plan, period in periods:
        if period.deadline_day + timedelta(days=14) < start:
            continue  # no report of it was due in the span (the latest come 14 days after the deadline)
        asked = f"period={period.key}&plan={plan.id}"
        board = _send("GET", f"{urls['aggregator']}/api/v1/compliance?{asked}", headers=admin).json()
        print(
            f"{plan.id + ' ' if several else ''}{period.key}: "
            f"{board['ACTUAL_REPORTS']}/{board['EXPECTED_REPORTS']} đã nộp, "
            f"{board['ACTUAL_REPORTS_ON_TIME']} đúng hạn ({board['REPORTING_RATE_ON_TIME']}%)"
        )
    return time.monotonic() - began


def read_feed(
    fetch_page: Callable[[str | None], list[dict[str, Any]]], after: str | None = None
) -> list[dict[str, Any]]:
    """Every item of an event feed after cursor `after` (from the start by default), oldest first: pages read
    with `after` = the last item's cursor until an empty page (`fetch_page(after)` returns one page). A cursor
    that does not move is an error, not a loop."""
    items: list[dict[str, Any]] = []
    while page := fetch_page(after):
        cursor = page[-1]["cursor"]
        if cursor == after:
            raise RuntimeError(f"the event feed did not move past cursor {after!r}")
        items += page
        after = cursor
    return items


def event_feed(producer: str, headers: dict[str, str], after: str | None = None) -> list[dict[str, Any]]:
    """The `GET /api/v1/events` feed of a producer after cursor `after` (the whole feed by default), page by page."""

    def fetch_page(after: str | None) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": PAGE, **({"after": after} if after else {})}
        resp = _send("GET", f"{producer}/api/v1/events", params=params, headers=headers)
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    return read_feed(fetch_page, after)


def _settled_events(
    scheduler: str, headers: dict[str, str], after: str | None, settle: float = 2.0
) -> tuple[list[dict[str, Any]], str | None]:
    """The level events published after cursor `after`, read until a second read finds nothing new (the relay
    publishes shortly after a pass) or `settle` seconds passed, and the cursor after them: each day reads only
    its news, not the year's feed again."""
    deadline = time.monotonic() + settle
    levels: list[dict[str, Any]] = []
    first = True
    while True:
        new = event_feed(scheduler, headers, after)
        levels += [e for e in new if e["type"] in LEVEL_TYPES]
        after = new[-1]["cursor"] if new else after
        if not new and not first or time.monotonic() > deadline:
            return levels, after
        first = False
        time.sleep(0.25)


def _count(events: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in events:
        out[e["data"]["level"]] = out.get(e["data"]["level"], 0) + 1
    return out


def _wait_processed(scheduler: str, headers: dict[str, str], instant: datetime, timeout: float = PATIENCE) -> None:
    """Wait until the scheduler's pass reached `instant` (it holds while intake's watermark lags, F17)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = _send("GET", f"{scheduler}/api/v1/clock", headers=headers).json().get("processed_up_to")
        if done and parse_instant(done) >= instant.astimezone(UTC):
            return
        time.sleep(0.05)
    raise TimeoutError(f"the scheduler did not process up to {instant.isoformat()}")
