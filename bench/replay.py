"""Benchmark: the wall time of `dvcq replay` over 14/03-31/12/2019 (SPEC "Non-functional targets").

One stack of the test command's kind (`tests.support.TestStack`, the 2019 plan, its own vhost and databases on the
run's broker and store) replays the plan year with `shared.replay.run_replay` (no pause per day), as
`dvcq replay` does. Baseline, on the same stack afterwards: the clock walk alone, `--walk-days` (30) days of
2020 where nothing is due (a step of the clock and the wait for the scheduler's pass, per day), scaled to the
replay's days: the floor of stepping the clock day by day, which the replay's reports, mails and board reads
come on top of.
Output: one JSON document on stdout. Run: `bash bench/run.sh replay [--start D --end D --walk-days N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from datetime import date, datetime, timedelta

import requests

from shared.replay import run_replay
from shared.settings import Settings
from shared.timerules import at_local, parse_instant
from tests.support import TestStack, wait_for


def main() -> None:
    """Start the stack, replay, walk the clock, print the figures as JSON, stop the stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2019, 3, 14))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2019, 12, 31))
    parser.add_argument("--walk-days", type=int, default=30)
    args = parser.parse_args()
    load_before = os.getloadavg()
    stack = TestStack("replay")
    try:
        stack.start()
        urls = {
            f"{name.upper()}_URL": stack.url(name, "") for name in ("intake", "scheduler", "notifier", "aggregator")
        }
        settings = Settings.from_env({**stack.env, **urls})
        with contextlib.redirect_stdout(io.StringIO()) as printed:  # the replay's daily lines: not this JSON
            seconds = run_replay(settings, start=args.start, end=args.end, pause=0.0, seed=2019)
        days = (args.end - args.start).days + 1
        walk_start = date(args.end.year + 1, 1, 2)
        began = time.monotonic()
        for offset in range(args.walk_days):  # as the replay steps: POST the clock, wait for the pass
            instant = at_local(walk_start + timedelta(days=offset), 8)
            moved = requests.post(
                stack.url("scheduler", "/api/v1/clock"), json={"now": instant.isoformat()}, headers=stack.auth(),
                timeout=30,
            )  # fmt: skip
            moved.raise_for_status()

            def passed(instant: datetime = instant) -> bool:
                done = stack.clock().get("processed_up_to")
                return bool(done) and parse_instant(done) >= instant

            wait_for(passed, timeout=120, interval=0.05, what=f"the pass up to {instant}")
        per_day = (time.monotonic() - began) / args.walk_days
        result = {
            "benchmark": "replay",
            "days": days,
            "replay_seconds": round(seconds, 1),
            "replay_lines": len(printed.getvalue().splitlines()),
            "walk_seconds_per_day": round(per_day, 3),
            "baseline_walk_seconds": round(per_day * days, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
