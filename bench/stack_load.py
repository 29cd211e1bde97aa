"""Benchmark: one running stack under load: intake throughput, submission to board, corrections, peak RSS.

Data set: the test plan tests/plans/synthetic-300 (300 reporting units, period 2025-H1), a whole stack started
by tests.support.TestStack (its own vhost, database prefix and ports; gunicorn with WEB_CONCURRENCY=2, as the
tests run it) on the broker and store of MONGO_URL and AMQP_URL, simulated clock at 05/06/2025 09:00.
Series, in this order:
- baseline: the store's raw single-document inserts (`insert_one` of a report-sized document, a collection of
  its own) from `--clients` threads (50), `--inserts` (1,000) in all: inserts per second, p50/p99;
- intake: the same number of client threads posting every unit's valid first report (300 POSTs) through
  gunicorn: accepted reports per second over the burst's wall time, p50/p99 of each POST;
- submission to board: while the burst runs, a poller reads GET /api/v1/compliance every `--poll` seconds; a
  report is visible when its row first shows a submitted status; latency = the end of that GET minus the end
  of its POST (so it includes up to one poll and one GET of the board);
- corrections: one unit's report corrected by PUT up to revision `--revisions` (50), one client, on the then
  quiet stack: p50 of revisions 2-6 against revisions (N-4)-N;
- peak RSS: VmHWM of every process of the stack (gunicorn masters and their workers, the consumers, the
  relays, the scheduler), beside a bare python interpreter's.
Output: one JSON document on stdout, times in ms. Run: `bash bench/run.sh stack_load [--clients N ...]`, on a
broker whose rabbitmqctl answers (as `bash bench/run.sh all` starts it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from pymongo import MongoClient

from shared.settings import ROOT
from tests.support import TestStack, wait_for, worker_pids

PLAN = ROOT / "tests" / "plans" / "synthetic-300"
PERIOD = "2025-H1"
NOW = "2025-06-05T09:00:00+07:00"
SUBMITTED = ("submitted_on_time", "submitted_late")
INDICATORS = {"tcd_luot": 12, "tcd_nguoi": 15}


def percentiles(samples: list[float]) -> dict[str, float]:
    """n, p50 and p99 (nearest rank) of durations in ms."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)

    return {"n": len(ordered), "p50": rank(50), "p99": rank(99)}


def vm_hwm_mb(pid: int) -> float | None:
    """A process's peak resident set (VmHWM) in MB, None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kb / 1024, 1)


def bare_python_mb() -> float:
    """VmHWM of a python interpreter that does nothing (the floor of every process of the stack)."""
    code = "import pathlib,os;print(pathlib.Path(f'/proc/{os.getpid()}/status').read_text())"
    status = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return round(next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")) / 1024, 1)


def store_inserts(mongo_url: str, db_name: str, clients: int, total: int) -> dict[str, Any]:
    """`total` insert_one of a report-sized document from `clients` threads: rate and latencies."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url, maxPoolSize=clients + 5)
    collection = client[db_name]["raw_inserts"]
    collection.insert_one({"_id": "warm-up"})
    doc = {"agency": "BENCH", "period": PERIOD, "revision": 1, "indicators": INDICATORS, "note": "x" * 400}

    def insert(i: int) -> float:
        started = time.perf_counter()
        collection.insert_one({**doc, "_id": f"raw-{i}"})
        return (time.perf_counter() - started) * 1000

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = list(pool.map(insert, range(total)))
        wall = time.perf_counter() - started
    finally:
        client.drop_database(db_name)
        client.close()
    return {"per_second": round(total / wall, 1), "ms": percentiles(latencies)}


class BoardPoller:
    """Reads the compliance board every `every` seconds and notes when each unit first shows as submitted."""

    def __init__(self, stack: TestStack, every: float) -> None:
        self.stack, self.every = stack, every
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        session = requests.Session()
        headers = self.stack.auth("observer")
        url = self.stack.url("aggregator", "/api/v1/compliance")
        while not self.stop.wait(self.every):
            params: dict[str, Any] = {"period": PERIOD, "limit": 500}
            while params.get("cursor", "") is not None:  # every page of the board, as its `next` leads
                resp = session.get(url, params=params, headers=headers, timeout=30)
                answered = time.perf_counter()
                if resp.status_code != 200:
                    break
                body = resp.json()
                for row in body["items"]:
                    if row["status"] in SUBMITTED:
                        self.seen.setdefault(row["agency"], answered)
                params["cursor"] = body["next"]


def intake_burst(stack: TestStack, units: list[str], clients: int, poll: float) -> dict[str, Any]:
    """Every unit's first report from `clients` threads, and how long each takes to show on the board."""
    local = threading.local()
    ended: dict[str, float] = {}

    def post(agency: str) -> tuple[int, float]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"Authorization": f"Bearer {stack.token('agency', agency)}"}
        body = {"agency": agency, "period": PERIOD, "indicators": INDICATORS}
        started = time.perf_counter()
        resp = session.post(stack.url("intake", "/api/v1/reports"), json=body, headers=headers, timeout=60)
        ended[agency] = time.perf_counter()
        return resp.status_code, (ended[agency] - started) * 1000

    poller = BoardPoller(stack, poll)
    poller.thread.start()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(post, units))
        wall = time.perf_counter() - started
        accepted = [ms for status, ms in results if status == 201]
        wait_for(lambda: len(poller.seen) >= len(accepted), timeout=300, what="every report on the board")
    finally:
        poller.stop.set()
        poller.thread.join(timeout=60)
    visible = [(poller.seen[a] - ended[a]) * 1000 for a in units if a in poller.seen]
    return {
        "intake": {
            "clients": clients,
            "reports": len(units),
            "accepted": len(accepted),
            "statuses": sorted({status for status, _ in results}),
            "wall_seconds": round(wall, 2),
            "reports_per_second": round(len(accepted) / wall, 1),
            "latency_ms": percentiles(accepted),
        },
        "submission_to_board": {**percentiles(visible), "poll_seconds": poll},
    }


def corrections(stack: TestStack, agency: str, revisions: int) -> dict[str, Any]:
    """PUT one unit's report up to `revisions`: the time of each revision's PUT."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {stack.token('agency', agency)}"}
    url = stack.url("intake", f"/api/v1/reports/{agency}/{PERIOD}")
    times: dict[int, float] = {}
    for i in range(2, revisions + 1):
        started = time.perf_counter()
        resp = session.put(url, json={"indicators": {"tcd_luot": i, "tcd_nguoi": i + 1}}, headers=headers, timeout=60)
        if resp.status_code not in (200, 201) or resp.json().get("revision") != i:
            raise RuntimeError(f"PUT revision {i}: {resp.status_code} {resp.text[:300]}")
        times[i] = (time.perf_counter() - started) * 1000
    early, late = list(range(2, 7)), list(range(revisions - 4, revisions + 1))
    return {
        "units": 1,
        "early": f"{early[0]}-{early[-1]}",
        "late": f"{late[0]}-{late[-1]}",
        "early_ms": percentiles([times[i] for i in early]),
        "late_ms": percentiles([times[i] for i in late]),
    }


def peak_rss(stack: TestStack) -> dict[str, float]:
    """VmHWM in MB of every process of the stack, gunicorn workers by their master's name."""
    out: dict[str, float] = {}
    for name in stack.stack.table:
        pid = stack.stack.pid(name)
        if pid is None:
            continue
        for n, p in enumerate([pid, *worker_pids(pid)]):
            mb = vm_hwm_mb(p)
            if mb is not None:
                out[name if n == 0 else f"{name} worker {n}"] = mb
    return out


def guarded(series: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """A series' figures, or {"error": ...}: one failed series leaves the others' figures in the output."""
    try:
        return series(*args)
    except (RuntimeError, AssertionError, requests.RequestException) as exc:
        return {"error": repr(exc)}


def main() -> None:
    """Start the stack, run the series, print the figures as JSON, stop the stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--inserts", type=int, default=1_000)
    parser.add_argument("--revisions", type=int, default=50)
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between reads of the board")
    args = parser.parse_args()
    load_before = os.getloadavg()
    stack = TestStack("bench", env={"DVCQ_PLAN": str(PLAN)})
    try:
        stack.start()
        stack.set_clock(NOW)
        units = [u["code"] for u in stack.items("scheduler", "/api/v1/units") if u["reports"]]
        raw = store_inserts(stack.space.mongo_url, f"{stack.space.prefix}raw", args.clients, args.inserts)
        load = intake_burst(stack, units, args.clients, args.poll)
        load["intake"].update(store_inserts_per_second=raw["per_second"], store_insert_ms=raw["ms"])
        result = {
            "benchmark": "stack under load",
            "plan": f"{PLAN.name}, {PERIOD}",
            "load_average_before": [round(x, 2) for x in load_before],
            **load,
            "corrections": guarded(corrections, stack, units[0], args.revisions),
            "peak_rss": {"processes": peak_rss(stack), "bare_python_mb": bare_python_mb()},
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
