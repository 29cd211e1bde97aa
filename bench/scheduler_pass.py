"""Benchmark: one scheduler pass over 100,000 obligations of which 10,000 are due (SPEC "Non-functional targets").

Data set: `--units` synthetic units (10,000) x `--periods` periods (10) = 100,000 obligations with their
`obligation.created` events, stored by the scheduler's own store code in a database of its own on MONGO_URL
(FerretDB on PostgreSQL locally). Period 0's deadline day is 10/06/2019, so at 03/06/2019 08:00 every one of its
obligations owes `reminder_7`: 10,000 due; the other periods' deadlines are months later.

Two passes, each over the same data, in this process:
- baseline, "full read": what the pass did before the agenda, reproduced here: read every obligation and every
  transition, derive each, store each level event with its own insert. Its range filters scan on FerretDB.
- the design: `services.scheduler.handlers.run_pass`, driven by the agenda (tiny insert-only entries, one per
  obligation and next action, indexed by `at`): it reads only the entries in its window, then the due
  obligations and their transitions, and stores the events and the next entries in batches. On FerretDB the
  agenda query (a range) still scans (it pushes down equality only), so both figures are reported, with the
  time of each step of the design.
Both passes must emit exactly the due levels (checked). Output: one JSON document on stdout.
Run: `bash bench/run.sh scheduler_pass [--units N --periods P]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from services.scheduler import handlers
from services.scheduler.domain import Obligation, closes_at, pass_step
from services.scheduler.store import MongoObligationStore, MongoPassStore
from shared.clock import FixedClock
from shared.plan import load_plan
from shared.plan_versions import VersionedPlan
from shared.settings import Settings
from shared.store import connect, insert_once
from shared.timerules import LOCAL_TZ, due_before_for_deadline_day

NOW = datetime(2019, 6, 3, 8, 0, tzinfo=LOCAL_TZ)
FIRST_DEADLINE = date(2019, 6, 10)


def obligations(units: int, periods: int, policy: tuple[dict[str, Any], ...]) -> list[Obligation]:
    """`units` x `periods` synthetic obligations; period 0 is the one due at NOW."""
    out = []
    for p in range(periods):
        day = FIRST_DEADLINE + timedelta(days=91 * p)
        for u in range(units):
            out.append(
                Obligation(
                    agency=f"BENCH{u:06d}",
                    period=f"B{p}",
                    unit_name=f"Đơn vị thử {u}",
                    unit_order=u + 1,
                    unit_types=("SO",),
                    due_before=due_before_for_deadline_day(day),
                    deadline_day=day,
                    data_window=None,
                    policy=policy,
                )
            )
    return out


def load(store: MongoObligationStore, obs: list[Obligation]) -> float:
    """Store the obligations as sync does, with the agenda entries a pass would have left: period 0's
    reminder_7 at NOW, the other periods' first levels later."""
    started = time.perf_counter()
    created_at = NOW - timedelta(days=60)
    for start in range(0, len(obs), 5000):
        chunk = obs[start : start + 5000]
        store.create_many([(ob, handlers.created_event(ob, created_at)) for ob in chunk])
        store.appoint([(ob.key, NOW if ob.period == "B0" else NOW + timedelta(days=30)) for ob in chunk])
    return time.perf_counter() - started


def full_read_pass(store: MongoObligationStore, plan: Any) -> tuple[float, int]:
    """The pass before the agenda: every obligation and transition read, each event its own insert."""
    started = time.perf_counter()
    everything = store.all_transitions()
    sent = 0
    for ob in store.all():
        step = pass_step(
            ob, everything.get(ob.key, []), NOW, working_days=plan.working_days, local_time=plan.escalation_local_time,
            closing=closes_at(ob, plan.unit(ob.agency)),
        )  # fmt: skip
        if step.rung is not None:
            sent += store.record(handlers._level_event(ob, step))
    return time.perf_counter() - started, sent


class TimedStore(MongoObligationStore):
    """The real store, timing each method the pass calls."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.times: dict[str, float] = {}
        self.inserted = 0

    def _timed(self, name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - started

    def due(self, after: datetime | None, now: datetime) -> list[str]:
        return self._timed("agenda query (due)", super().due, after, now)

    def get_many(self, keys: list[str]) -> dict[str, Obligation]:
        return self._timed("read due obligations", super().get_many, keys)

    def transitions_of(self, keys: list[str]) -> dict[str, list[Any]]:
        return self._timed("read their transitions", super().transitions_of, keys)

    def record_many(self, events: list[Any]) -> int:
        inserted: int = self._timed("store events (batched)", super().record_many, events)
        self.inserted += inserted
        return inserted

    def appoint(self, appointments: list[tuple[str, datetime]]) -> None:
        return self._timed("store next actions (batched)", super().appoint, appointments)


def agenda_pass(db: Any, plan: Any) -> tuple[float, int, dict[str, float]]:
    """The design: `run_pass` driven by the agenda."""
    store = TimedStore(db)
    passes = MongoPassStore(db)
    passes.apply_watermark(NOW)  # intake has confirmed every report up to now (F17): the pass is not held
    started = time.perf_counter()
    handlers.run_pass(plans=[VersionedPlan(plan)], obligations=store, passes=passes, clock=FixedClock(NOW))
    took = time.perf_counter() - started
    return took, store.inserted, {k: round(v, 3) for k, v in store.times.items()}


def main() -> None:
    """Build the data set, run both passes, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    settings = Settings.from_env()
    plan = load_plan(settings.plan_paths[0])
    client = connect(settings, app_name="bench-scheduler-pass")  # the services' own client settings
    names = [f"bench_pass_{uuid.uuid4().hex[:8]}_{which}" for which in ("design", "baseline")]
    try:
        build = client.admin.command("buildInfo")
        ferret = build.get("ferretdbVersion")
        store_name = f"FerretDB {ferret} (PostgreSQL)" if ferret else f"MongoDB {build['version']}"
        policy = tuple(asdict(level) for level in plan.escalation)
        obs = obligations(args.units, args.periods, policy)
        stores = [MongoObligationStore(client[name]) for name in names]
        load_seconds = []
        for store in stores:  # the same data twice: each pass starts from it
            store.ensure_indexes()
            load_seconds.append(load(store, obs))
            insert_once(store.db["state"], {"_id": "pass", "processed_up_to": NOW - timedelta(hours=1)})
        design, design_sent, steps = agenda_pass(stores[0].db, plan)
        again, again_sent, _ = agenda_pass(stores[0].db, plan)  # nothing new in its window: the idle pass
        baseline, baseline_sent = full_read_pass(stores[1], plan)
        result = {
            "benchmark": "scheduler pass",
            "store": store_name,
            "obligations": len(obs),
            "due": args.units,
            "load_seconds": [round(x, 1) for x in load_seconds],
            "baseline_full_read_seconds": round(baseline, 3),
            "design_agenda_seconds": round(design, 3),
            "design_steps_seconds": steps,
            "idle_pass_seconds": round(again, 3),
            "ratio_design_to_baseline": round(design / baseline, 3),
            "levels_emitted": {"baseline": baseline_sent, "design": design_sent, "idle_pass": again_sent},
            "goal_seconds": 1.0,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
        if not baseline_sent == design_sent == args.units or again_sent != 0:
            sys.exit("the passes did not emit exactly the due levels")
    finally:
        if not args.keep:
            for name in names:
                client.drop_database(name)


if __name__ == "__main__":
    main()
