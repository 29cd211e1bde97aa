"""Run a command as a child subreaper, then stop whatever it left running (README "Test it").

The test command runs pytest through this. Test stacks start their processes in sessions of their own and the
fault tests start brokers and stores that daemonise, so a pytest that ends without its fixtures' teardown (a
crash, a kill, a timeout) would leave them running with init as their parent. As a subreaper (Linux
PR_SET_CHILD_SUBREAPER) this process inherits every such orphan instead; when the command ends, pass or fail,
every process still below it gets SIGTERM, then SIGKILL after a grace period. The exit code is the command's.
Only descendants are touched: nothing another checkout or user started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 10.0


def _parents() -> dict[int, int]:
    """Every live process's parent pid, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out[int(entry.name)] = int(fields[1])
    return out


def descendants(root: int) -> list[int]:
    """The live (not zombie) processes below `root`."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, ())
    return found


def _reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_leftovers(me: int) -> list[int]:
    """SIGTERM every process below `me`, SIGKILL those still there after GRACE_SECONDS; the pids found."""
    left = descendants(me)
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        _reap_zombies()
        if not descendants(me):
            return left
        time.sleep(0.2)
    for pid in descendants(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    _reap_zombies()
    return left


def main(argv: list[str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"reap: prctl failed (errno {ctypes.get_errno()}); leftovers are not collected", file=sys.stderr)
    proc = subprocess.Popen(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    code = proc.wait()
    left = stop_leftovers(os.getpid())
    if left:
        print(f"\n[dvcq] stopped {len(left)} process(es) the tests left running", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
