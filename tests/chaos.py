"""Chaos over a replay (issue 11, "Done when" 13): `dvcq replay` of the plan on a stack of its own while a
random dvcq process is `kill -9`ed every few seconds, the broker restarted and the store restarted; at the end
the invariants every fault test checks hold (`tests.support.assert_invariants`), and no unit that reported on
time was ever told it is overdue.

`deploy/chaos.sh` runs the whole year (14/03-31/12/2019, two broker restarts, one store restart) and prints
what it did; `tests/faults/test_chaos.py` runs the same over 2019-H1's deadline weeks with one of each.

Everything runs on components of the run's own: a RabbitMQ node, a FerretDB and an SMTP server on free
ports, the stack's processes supervised by this process (`shared.procs.Stack`, which restarts what dies, as
`dvcq stack up` does). What it kills: any process of the stack's table (the gunicorn masters, relays,
consumers, the scheduler's loop, the notifier's sender and digest) or one gunicorn worker, with SIGKILL, at
random intervals. The broker restarts alternate a crash (`kill -9` of beam.smp, then the node started again)
and a clean `stop_app`/`start_app`; the store is stopped and started. Each outage lasts a random few seconds,
while the replay goes on (it sends every request again until answered, `shared.replay._send`).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import requests

from shared.replay import run_replay
from shared.settings import Settings
from tests.support import (
    OwnBroker,
    OwnStore,
    TestStack,
    accepted_reports,
    assert_invariants,
    ledger,
    own_smtp,
    own_stack,
    wait_for,
    worker_pids,
)

LATE_LEVELS = ("overdue", "escalation_1", "escalation_2")
OUTAGE_SECONDS = (5.0, 20.0)


@dataclass
class ChaosReport:
    """What a chaos run did and what it found."""

    kills: Counter[str] = field(default_factory=Counter)
    broker_restarts: list[str] = field(default_factory=list)
    store_restarts: int = 0
    replay_seconds: float = 0.0
    wall_seconds: float = 0.0
    reports: int = 0
    alerts: int = 0
    mails: int = 0

    def summary(self) -> str:
        kills = ", ".join(f"{name} {n}" for name, n in sorted(self.kills.items()))
        return (
            f"chaos: {sum(self.kills.values())} kills ({kills}); broker restarts: "
            f"{', '.join(self.broker_restarts) or 'none'}; store restarts: {self.store_restarts}; "
            f"replay {self.replay_seconds:.0f} s, wall {self.wall_seconds:.0f} s; {self.reports} reports accepted, "
            f"{self.alerts} notifications in the ledger, {self.mails} mails; invariants hold"
        )


class Monkey:
    """The thread that kills a random process every `kill_every` seconds and restarts the broker and the store
    when the replay passes their turn (evenly spread over the replayed days)."""

    def __init__(
        self,
        stack: TestStack,
        broker: OwnBroker,
        store: OwnStore,
        *,
        rng: random.Random,
        kill_every: tuple[float, float],
        outages: list[str],
        report: ChaosReport,
        say: Callable[[str], None],
    ) -> None:
        self.stack, self.broker, self.store, self.rng = stack, broker, store, rng
        self.kill_every = kill_every
        self.report = report
        self.say = say
        # the k-th of n outages comes when the replay is (k+1)/(n+1) of the way through its days
        self.due = [((k + 1) / (len(outages) + 1), what) for k, what in enumerate(outages)]
        self.progress = 0.0
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="chaos-monkey", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop killing; wait until an outage in progress has ended (the broker and store are up again)."""
        self.stopping.set()
        self.thread.join(timeout=600)
        if self.failure is not None:
            raise RuntimeError("the chaos thread failed") from self.failure

    def _run(self) -> None:
        try:
            while not self.stopping.wait(self.rng.uniform(*self.kill_every)):
                self.kill_one()
                while self.due and self.progress >= self.due[0][0]:
                    self.outage(self.due.pop(0)[1])
        except BaseException as exc:  # noqa: BLE001 - handed to stop(), which raises it in the run
            self.failure = exc

    def kill_one(self) -> None:
        """SIGKILL one running process of the stack, or one worker of a gunicorn master."""
        name = self.rng.choice(sorted(self.stack.stack.table))
        pid = self.stack.stack.pid(name)
        if pid is None:  # down already (being restarted): the supervisor has it in hand
            return
        workers = worker_pids(pid) if self.stack.stack.table[name].port else []
        if workers and self.rng.random() < 0.5:
            pid, name = self.rng.choice(workers), f"{name} worker"
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.report.kills[name] += 1

    def outage(self, what: str) -> None:
        """Restart the broker (a crash or a clean stop, in turn) or the store, down for a random few seconds."""
        down = self.rng.uniform(*OUTAGE_SECONDS)
        if what == "store":
            self.say(f"chaos: store stopped for {down:.0f} s")
            self.store.stop()
            time.sleep(down)  # the outage itself: the stack and the replay meet a store that is not there
            self.store.start()
            self.report.store_restarts += 1
            return
        crash = len(self.report.broker_restarts) % 2 == 0
        self.say(f"chaos: broker {'killed (kill -9 beam.smp)' if crash else 'stopped (stop_app)'} for {down:.0f} s")
        if crash:
            self.broker.kill()
            time.sleep(down)
            self.broker.start()
        else:
            self.broker.stop_app()
            time.sleep(down)
            self.broker.start_app()
        self.report.broker_restarts.append("kill -9" if crash else "stop_app")


def wait_all_running(stack: TestStack, *, timeout: float = 300.0) -> None:
    """Wait until every process of the stack runs again and every service answers /readyz with 200 (after the
    kills the supervisor may still be backing off, or show a crash loop that is ending)."""

    def up() -> bool:
        if any(stack.stack.pid(name) is None for name in stack.stack.table):
            return False
        for service in ("intake", "scheduler", "notifier", "aggregator"):
            try:
                if requests.get(stack.url(service, "/readyz"), timeout=5).status_code != 200:
                    return False
            except requests.RequestException:
                return False
        return True

    wait_for(up, timeout=timeout, interval=1.0, what="every process running and every service ready")


def assert_no_false_alerts(stack: TestStack, periods: list[str]) -> None:
    """No unit the scheduler holds as `submitted_on_time` was sent a level after its deadline (the ladder waits
    for intake's watermark, F17): not in the scheduler's emitted levels, not in the notifier's ledger."""
    false: list[str] = []
    on_time: set[tuple[str, str]] = set()
    for period in periods:
        for ob in stack.items("scheduler", "/api/v1/obligations", period=period):
            if ob["status"] == "submitted_on_time":
                on_time.add((ob["agency"], period))
                false += [
                    f"{ob['agency']}:{period} {lv} (scheduler)" for lv in ob["levels"]["emitted"] if lv in LATE_LEVELS
                ]
    false += [
        f"{n['agency']}:{n['period']} {n['level']} to {n['recipient']} ({n['channel']})"
        for n in ledger(stack)
        if n.get("level") in LATE_LEVELS and (n.get("agency"), n.get("period")) in on_time
    ]
    assert not false, f"units that reported on time were told they are late: {false}"


def run_chaos(
    *,
    start: date,
    end: date,
    seed: int = 2019,
    kill_every: tuple[float, float] = (5.0, 15.0),
    broker_restarts: int = 2,
    store_restarts: int = 1,
    env: dict[str, str] | None = None,
    say: Callable[[str], None] = print,
) -> ChaosReport:
    """Replay `start`..`end` under chaos on a stack of its own and check the invariants; raise if one fails."""
    began = time.monotonic()
    rng = random.Random(seed)
    report = ChaosReport()
    outages: list[str] = []  # broker and store in turn: broker, store, broker for the year
    for k in range(max(broker_restarts, store_restarts)):
        outages += ["broker"] * (k < broker_restarts) + ["store"] * (k < store_restarts)
    with own_smtp("c") as smtp:
        store = OwnStore("c").start()
        broker = OwnBroker("c").start()
        try:
            with own_stack("c", broker, env={"MONGO_URL": store.url, "SMTP_URL": smtp.url, **(env or {})}) as s:
                monkey = Monkey(
                    s, broker, store, rng=rng, kill_every=kill_every, outages=outages, report=report, say=say
                )
                span = max((end - start).days, 1)

                def on_day(day: date) -> None:
                    monkey.progress = (day - start).days / span

                monkey.start()
                try:
                    report.replay_seconds = run_replay(
                        Settings.from_env(s.stack.env), start=start, end=end, pause=0.0, seed=seed, on_day=on_day
                    )
                finally:
                    monkey.stop()
                say("chaos: replay done, the monkey stopped; checking the invariants")
                wait_all_running(s)
                mails = smtp.messages()
                assert_invariants(s, mails=mails, timeout=900)
                periods = sorted({n["period"] for n in ledger(s) if n.get("period")})
                assert_no_false_alerts(s, periods)
                report.reports = len(accepted_reports(s))
                report.alerts = len(ledger(s))
                report.mails = len(mails)
        finally:
            broker.close()
            store.close()
    report.wall_seconds = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    """`deploy/chaos.sh [--start --end --seed ...]`: the chaos run; exit 0 when the invariants hold."""
    parser = argparse.ArgumentParser(prog="deploy/chaos.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", default="2019-03-14", help="first simulated day (YYYY-MM-DD)")
    parser.add_argument("--end", default="2019-12-31", help="last simulated day (YYYY-MM-DD)")
    parser.add_argument("--seed", type=int, default=2019, help="seed of the units' behaviour and of the chaos")
    parser.add_argument("--broker-restarts", type=int, default=2)
    parser.add_argument("--store-restarts", type=int, default=1)
    parser.add_argument("--kill-min", type=float, default=5.0, help="shortest pause between two kills (s)")
    parser.add_argument("--kill-max", type=float, default=15.0, help="longest pause between two kills (s)")
    args = parser.parse_args(argv)
    report = run_chaos(
        start=date.fromisoformat(args.start),
        end=date.fromisoformat(args.end),
        seed=args.seed,
        kill_every=(args.kill_min, args.kill_max),
        broker_restarts=args.broker_restarts,
        store_restarts=args.store_restarts,
        say=lambda line: print(line, flush=True),
    )
    print(report.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
