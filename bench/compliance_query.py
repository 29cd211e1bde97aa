"""Benchmark: the compliance query of one period with 10,000 units (SPEC "Non-functional targets").

Data set: a copy of the 2019 plan whose registry is `--units` synthetic reporting units (10,000), and the
obligation events of its period 2019-H1 as the scheduler emits them at 18/06/2019 09:00 (a week after the
deadline day): `obligation.created` for every unit; `obligation.fulfilled` for about 70% (55% on time, 15% late,
after their `overdue`); for the other 30% the levels reached by then (reminder_7, reminder_1, overdue,
escalation_1), so they show as overdue. The events are folded by the aggregator's own rebuild
(`handlers.rebuild`: `apply_obligation_event` into `new_board_row`) and stored by `MongoBoardStore`, one row per
unit, in a database of its own on MONGO_URL (FerretDB on PostgreSQL locally), dropped at the end. The period has
no closing and no reports rows.

Series, each repeated `--repeat` times (200) or for `--seconds` (60), whichever ends first, but at least 20:
- baseline: the bare `find({"board": ...})` of the period's rows (the store's floor for listing them), and
  pymongo's decoding of those rows' BSON alone (the part of the floor any server leaves);
- the query: what the board page runs in process (GET /api/v1/compliance ran it until the API was paged),
  `handlers.get_compliance` with the view's stores
  (board and reports rows by `{board: ...}`, the closing by `_id`) and the app's JSON encoding, timed by step;
- the same with a plan whose `unit(code)` is a dict lookup (here only), to show what the per-row scan of
  `Plan.unit` costs;
- HTTP: GET /api/v1/compliance (the five figures and the first page of 50 rows) from the real aggregator app in
  one gunicorn sync worker (deploy/gunicorn.conf.py) over loopback, system clock (every pending row is overdue
  there too), and with `--page-html` the board page (GET /periods/2019-H1, HTML, an observer's session cookie)
  the same way.
Output: one JSON document on stdout, times in ms (p50/p95/p99 by nearest rank).
Run: `bash bench/run.sh compliance_query [--units N --repeat R --seconds S --no-http --keep]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import requests
from flask import Flask

from services.aggregator import handlers
from services.aggregator.domain import board_key
from services.aggregator.store import MongoBoardStore, MongoClosingStore, MongoReportsStore
from services.scheduler.domain import version_at
from shared.auth import issue_token
from shared.clock import FixedClock
from shared.events import Event, obligation_subject
from shared.paging import DEFAULT_LIMIT
from shared.plan import Plan, Unit, load_plan
from shared.settings import ROOT, Settings
from shared.store import connect
from shared.timerules import LOCAL_TZ, days_overdue, ladder, local_date
from shared.web import SESSION_COOKIE

PERIOD = "2019-H1"
NOW = datetime(2019, 6, 18, 9, 0, tzinfo=LOCAL_TZ)
MIN_SAMPLES = 20
GOAL_P95_MS = 50.0


def synthetic_plan_dir(source: Path, units: int, into: Path) -> Path:
    """A copy of the plan directory whose registry is `units` synthetic reporting units, in official order."""
    raw = json.loads((source / "plan.json").read_text(encoding="utf-8"))
    model = next(u for u in raw["units"] if u["reports"])
    raw["units"] = [
        {
            **model,
            "code": f"BENCH{i:05d}",
            "name": f"Đơn vị thử nghiệm số {i + 1}",
            "order": i + 1,
            "types": ["SO"] if i % 3 else ["HUYEN"],
            "contacts": [],
        }
        for i in range(units)
    ]
    into.mkdir(parents=True, exist_ok=True)
    (into / "plan.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    indicators = raw["templates"]["indicators"]
    shutil.copyfile(source / indicators, into / indicators)
    return into


def obligation_events(plan: Plan, seed: int = 2019) -> list[Event]:
    """The period's obligation events up to NOW, as the scheduler emits them (see the module docstring)."""
    period = plan.period(PERIOD)
    assert period is not None and period.due_before is not None
    due = period.due_before
    rungs = [
        r
        for r in ladder(period.deadline_day, [asdict(lv) for lv in plan.escalation], plan.working_days,
                        plan.escalation_local_time)
        if r.at <= NOW
    ]  # fmt: skip
    rng = random.Random(seed)
    out: list[Event] = []

    def event(unit: Unit, type_: str, version: int, at: datetime, data: dict[str, Any]) -> None:
        subject = obligation_subject(unit.code, PERIOD)
        base = {"agency": unit.code, "period": PERIOD, "generation": 1, "due_before": due.isoformat()}
        out.append(Event(type_, subject, version, {**base, **data}, "scheduler", at, id=f"{subject}:{len(out)}"))

    for unit in plan.units:
        event(
            unit, "obligation.created", 1, plan.issued_at,
            {"deadline_day": period.deadline_day.isoformat(), "unit_name": unit.name, "unit_order": unit.order,
             "unit_types": list(unit.types), "status": "pending"},
        )  # fmt: skip
        draw = rng.random()
        if draw < 0.55:
            received: datetime | None = due - timedelta(minutes=rng.randint(10, 10 * 24 * 60))
        elif draw < 0.70:
            received = due + timedelta(minutes=rng.randint(24 * 60, int((NOW - due).total_seconds() // 60) - 1))
        else:
            received = None
        for rung in rungs:
            if received is None or rung.at < received:
                level = {"level": rung.level, "days_overdue": days_overdue(local_date(rung.at), due), "skipped": []}
                event(unit, rung.event, version_at(rung.at), rung.at, level)
        if received is not None:
            late = received >= due
            event(
                unit, "obligation.fulfilled", version_at(received), received,
                {"status": "submitted_late" if late else "submitted_on_time", "received_at": received.isoformat(),
                 "days_late": days_overdue(local_date(received), due) if late else 0, "report_id": uuid.uuid4().hex},
            )  # fmt: skip
    return out


class TimedReads:
    """A read-model store whose reads (`get`, `rows`) are timed under `name` (the query only reads)."""

    def __init__(self, store: Any, name: str, times: dict[str, float]) -> None:
        self.store, self.name, self.times = store, name, times

    def _timed(self, read: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return read(*args)
        finally:
            self.times[self.name] = self.times.get(self.name, 0.0) + time.perf_counter() - started

    def get(self, *args: Any) -> dict[str, Any] | None:
        return self._timed(self.store.get, *args)

    def rows(self, *args: Any) -> list[dict[str, Any]]:
        return self._timed(self.store.rows, *args)


def repeat(fn: Callable[[], Any], times: int, seconds: float) -> list[float]:
    """Run `fn` twice untimed, then `times` times or for `seconds` (at least MIN_SAMPLES); the durations in ms."""
    for _ in range(2):
        fn()
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(out) < times and (len(out) < MIN_SAMPLES or time.perf_counter() < deadline):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def stats(samples: list[float]) -> dict[str, float]:
    """n, p50/p95/p99 (nearest rank), mean, min and max of durations in ms."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)

    return {
        "n": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "mean": round(sum(ordered) / len(ordered), 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
    }


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resp_kind(resp: requests.Response) -> str:
    """The response's media type, without parameters."""
    return resp.headers.get("Content-Type", "").split(";")[0].strip()


def http_series(
    settings: Settings,
    plan_dir: Path,
    prefix: str,
    units: int,
    times: int,
    seconds: float,
    log: Path,
    *,
    page: bool = False,
) -> dict[str, Any]:
    """GET /api/v1/compliance from one gunicorn sync worker of the aggregator on the benchmark's database, and
    with `page` the board page's HTML (GET /periods/<period>, the session cookie of an observer) too."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        MONGO_URL=settings.mongo_url, DVCQ_PLAN=str(plan_dir), DVCQ_DB_PREFIX=prefix, DVCQ_CLOCK="system",
        DVCQ_SECRET=settings.secret, WEB_CONCURRENCY="1", LOG_LEVEL="WARNING",
    )  # fmt: skip
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
            "-b", f"127.0.0.1:{port}", "services.aggregator.app:create_app()"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                if session.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        token = issue_token(settings.secret, sub="bench", role="observer")
        headers = {"Authorization": f"Bearer {token}"}

        def get() -> requests.Response:
            resp = session.get(f"{base}/api/v1/compliance", params={"period": PERIOD}, headers=headers, timeout=60)
            resp.raise_for_status()
            return resp

        first = get()
        if len(first.json()["items"]) != min(units, DEFAULT_LIMIT):
            raise RuntimeError("the HTTP answer does not hold the first page of units")
        out = {**stats(repeat(get, times, seconds)), "response_bytes": len(first.content)}
        if page:
            cookies = {SESSION_COOKIE: token}

            def board_page() -> requests.Response:
                resp = session.get(f"{base}/periods/{PERIOD}", cookies=cookies, timeout=60, allow_redirects=False)
                resp.raise_for_status()
                return resp

            html = board_page()
            if resp_kind(html) != "text/html" or html.text.count("<tr") < units:
                raise RuntimeError("the board page does not show a row per unit")
            out["board_page_html"] = {**stats(repeat(board_page, times, seconds)), "response_bytes": len(html.content)}
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> None:
    """Build the data set, run the series, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200, help="repetitions per series (at most)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget per series")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn series")
    parser.add_argument("--page-html", action="store_true", help="time the board page's HTML too (over HTTP)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    load_before = os.getloadavg()
    prefix = f"bench_compliance_{uuid.uuid4().hex[:8]}_"
    settings = replace(Settings.from_env(), db_prefix=prefix)
    client = connect(settings, app_name="bench-compliance-query")  # the services' own client settings
    workdir = Path(tempfile.mkdtemp(prefix="dvcq-bench-compliance-"))
    try:
        build = client.admin.command("buildInfo")
        ferret = build.get("ferretdbVersion")
        store_name = f"FerretDB {ferret}" if ferret else f"MongoDB {build['version']}"
        plan_dir = synthetic_plan_dir(settings.plan_paths[0], args.units, workdir / "plan")
        plan = load_plan(plan_dir)
        db = client[settings.db_name("aggregator")]
        boards, reports, closings = MongoBoardStore(db), MongoReportsStore(db), MongoClosingStore(db)

        events = obligation_events(plan)
        started = time.perf_counter()
        handlers.rebuild(events, boards=boards, reports=reports, closings=closings, plan=plan)
        load_seconds = time.perf_counter() - started
        rows = boards.rows(plan.id, PERIOD)
        assert len(rows) == args.units
        clock = FixedClock(NOW)
        app = Flask("bench")
        app.json.ensure_ascii = False  # type: ignore[attr-defined]  # as shared.web.create_service_app

        collection, key = db[MongoBoardStore.collection], board_key(plan.id, PERIOD)
        baseline = repeat(lambda: list(collection.find({"board": key})), args.repeat, args.seconds)
        raw = b"".join(bson.encode(row) for row in rows)  # the client's share of the floor, whatever the server
        decode = repeat(lambda: bson.decode_all(raw, collection.codec_options), args.repeat, args.seconds / 4)

        steps: dict[str, list[float]] = {}

        def query(on: Plan) -> Callable[[], bytes]:
            def run() -> bytes:
                times: dict[str, float] = {}
                started = time.perf_counter()
                view = handlers.get_compliance(
                    PERIOD, plan=on, clock=clock,
                    boards=TimedReads(boards, "read board", times),
                    closings=TimedReads(closings, "read closing", times),
                    reports=TimedReads(reports, "read reports", times),
                )  # fmt: skip
                handled = time.perf_counter()
                body = app.json.response(view).get_data()
                if on is plan:
                    times["compliance_view and the rest of the handler"] = handled - started - sum(times.values())
                    times["JSON encoding"] = time.perf_counter() - handled
                    for name, seconds in times.items():
                        steps.setdefault(name, []).append(seconds * 1000)
                return body

            return run

        body = query(plan)()
        view = json.loads(body)
        steps.clear()
        queried = repeat(query(plan), args.repeat, args.seconds)
        n = len(queried)
        step_stats = {name: stats(values[-n:]) for name, values in steps.items()}  # the warm-up runs left out
        http = None
        if not args.no_http:
            http = http_series(
                settings, plan_dir, prefix, args.units, args.repeat, args.seconds, workdir / "gunicorn.log",
                page=args.page_html,
            )  # fmt: skip
        q, b = stats(queried), stats(baseline)
        result = {
            "benchmark": "compliance query",
            "store": store_name,
            "period": PERIOD,
            "units": args.units,
            "as_of": NOW.isoformat(),
            "statuses": dict(Counter(row["status"] for row in view["units"])),
            "events_folded": len(events),
            "load_seconds": round(load_seconds, 1),
            "rows_bytes": len(raw),
            "largest_row_bytes": max(len(bson.encode(row)) for row in rows),
            "response_bytes": len(body),
            "load_average_before": [round(x, 2) for x in load_before],
            "baseline_find_board_rows_ms": b,
            "of_which_client_bson_decode_ms": stats(decode),
            "query_ms": q,
            "query_steps_ms": step_stats,
            "ratio_query_to_baseline": {"p50": round(q["p50"] / b["p50"], 1), "p95": round(q["p95"] / b["p95"], 1)},
            "http_gunicorn_ms": http,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "goal_p95_ms": GOAL_P95_MS,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            for name in client.list_database_names():
                if name.startswith(prefix):
                    client.drop_database(name)


if __name__ == "__main__":
    main()
