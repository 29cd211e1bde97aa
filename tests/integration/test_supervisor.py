"""The stack's supervisor on real child processes: a process that exits is restarted with backoff and its
exits recorded, repeated exits are a crash loop, and an explicit stop is never undone."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.procs import (
    CRASH_LOOP_EXITS,
    ProcSpec,
    Stack,
    crash_loops,
    process_alive,
    process_report,
    read_state,
)
from tests.support import wait_for

# a "gunicorn master" that forks a "worker" (in its process group), writes the worker's pid, and sleeps
MASTER = """
import os, sys, time
pid = os.fork()
if pid == 0:
    time.sleep(600)
    sys.exit(0)
open(os.environ["WORKER_PID_FILE"], "w").write(str(pid))
time.sleep(600)
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack({"PATH": "/usr/bin:/bin"}, tmp_path / "run", tmp_path / "log")
    s.table = {
        "crasher": ProcSpec("crasher", "notifier", (sys.executable, "-c", "import sys; sys.exit(3)")),
        "sleeper": ProcSpec("sleeper", "notifier", (sys.executable, "-c", "import time; time.sleep(600)")),
        "master": ProcSpec("master", "notifier", (sys.executable, "-c", MASTER)),
    }
    try:
        yield s
    finally:
        s.stop()


def test_a_process_that_exits_is_restarted_with_backoff_and_its_crash_loop_reported(stack: Stack) -> None:
    stack.start("crasher", "sleeper")
    state = wait_for(
        lambda: (st := read_state(stack.run_dir)) and len(st["processes"]["crasher"]["exits"]) >= CRASH_LOOP_EXITS
        and st,
        timeout=60,
        what="the crasher to exit and be restarted",
    )  # fmt: skip
    crasher = state["processes"]["crasher"]
    assert {e["code"] for e in crasher["exits"]} == {3}
    assert crasher["restarts"] >= CRASH_LOOP_EXITS - 1
    assert "crasher" in crash_loops(state) and "sleeper" not in crash_loops(state)
    report = process_report(stack.run_dir, "notifier")
    assert report["crasher"]["crash_loop"] is True and report["sleeper"]["state"] == "running"
    assert report["sleeper"]["restarts"] == 0
    # backoff: 0.5 s, 1 s, 2 s ... between restarts, so a crash loop is not a hot loop
    assert crasher["restarts"] <= 6


def test_an_explicit_stop_or_kill_is_not_undone(stack: Stack) -> None:
    stack.start("sleeper")
    first = wait_for(lambda: stack.pid("sleeper"), what="the sleeper to run")
    stack.kill("sleeper")
    stack.supervise_once()
    assert stack.pid("sleeper") is None and read_state(stack.run_dir)["processes"]["sleeper"]["state"] == "stopped"
    stack.start("sleeper", supervise=False)
    second = wait_for(lambda: stack.pid("sleeper"), what="the sleeper to run again")
    assert second != first
    stack.stop("sleeper")
    stack.supervise_once()
    assert stack.pid("sleeper") is None


def test_a_killed_process_takes_what_it_left_in_its_group_before_it_is_restarted(stack: Stack, tmp_path: Path) -> None:
    worker_file = tmp_path / "worker.pid"
    stack.start("master", extra_env={"WORKER_PID_FILE": str(worker_file)})
    worker = int(wait_for(lambda: worker_file.exists() and worker_file.read_text(), what="the worker to start"))
    master = stack.pid("master")
    assert master is not None and process_alive(worker)
    worker_file.unlink()
    os.kill(master, signal.SIGKILL)  # the master alone, as a crash would: its worker is orphaned
    wait_for(lambda: not process_alive(worker), timeout=30, what="the orphaned worker killed by the supervisor")
    again = wait_for(lambda: (pid := stack.pid("master")) != master and pid, timeout=30, what="the master restarted")
    assert again != master and wait_for(worker_file.exists, what="the new master's worker")
