"""The process table of a dvcq stack and its supervisor, used by `dvcq stack up|down|status` and by the tests.

The table is built from the services of shared.registry: each one's HTTP side runs under gunicorn (workers
forked without preload); its workers (outbox relay, consumer, loops) are separate processes started fresh
(never forks of a client holder).
Each process leads its own session, so stopping one stops its gunicorn workers too. A process that exits is
restarted with backoff, once whatever it left in its process group is killed; repeated exits show as a crash
loop.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from prometheus_client import multiprocess

from shared.edge import CADDYFILE, Edge, caddyfile, local_upstreams
from shared.registry import services
from shared.settings import ROOT, default_ports

EDGE = "edge"  # the reverse proxy's process (shared.edge), when the stack runs one


@dataclass(frozen=True)
class ProcSpec:
    """One process of the stack."""

    name: str
    service: str
    argv: tuple[str, ...]
    port: int | None = None


def process_table(ports: dict[str, int] | None = None) -> tuple[ProcSpec, ...]:
    """Every process of a stack: each registered service's gunicorn app, then each one's workers."""
    ports = {**default_ports(), **(ports or {})}
    py = sys.executable
    gunicorn = (py, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind")
    table = [
        ProcSpec(f"{svc.name}-web", svc.name, (*gunicorn, f"127.0.0.1:{ports[svc.name]}", svc.app), ports[svc.name])
        for svc in services()
    ]
    table += [
        ProcSpec(f"{svc.name}-{suffix}", svc.name, (py, "-m", module))
        for svc in services()
        for suffix, module in svc.workers
    ]
    return tuple(table)


def edge_spec(edge: Edge, run_dir: Path) -> ProcSpec:
    """The reverse proxy's process: Caddy on the configuration `Stack` writes to `run_dir` (its own config
    directory there too, so nothing lands in the user's home)."""
    caddy = shutil.which("caddy")
    if caddy is None:
        raise RuntimeError("caddy is not installed: run deploy/run.sh, or `bash deploy/lib.sh ensure_caddy`")
    argv = ("env", f"XDG_CONFIG_HOME={run_dir / 'edge-config'}", f"XDG_DATA_HOME={edge.storage}", caddy, "run",
            "--config", str(run_dir / CADDYFILE), "--adapter", "caddyfile")  # fmt: skip
    return ProcSpec(EDGE, EDGE, argv)


def service_env(ports: dict[str, int]) -> dict[str, str]:
    """The *_URL variables that let services call each other on these ports."""
    return {f"{svc.upper()}_URL": f"http://127.0.0.1:{port}" for svc, port in ports.items()}


# Restarts back off from RESTART_BASE_SECONDS, doubling per exit up to RESTART_CAP_SECONDS; a process that ran
# STABLE_SECONDS before it exited starts again from the base. CRASH_LOOP_EXITS exits within
# CRASH_LOOP_WINDOW_SECONDS make a crash loop, shown by `dvcq stack status` and the service's /readyz.
RESTART_BASE_SECONDS = 0.5
RESTART_CAP_SECONDS = 10.0
STABLE_SECONDS = 30.0
CRASH_LOOP_EXITS = 3
CRASH_LOOP_WINDOW_SECONDS = 120.0
STATE_FILE = "supervisor.json"
SUPERVISOR_PID_FILE = "supervisor.pid"
KEPT_EXITS = 20

log = logging.getLogger(__name__)


@dataclass
class _Watch:
    """What the supervisor knows of one process it keeps running."""

    extra_env: dict[str, str]
    started_at: float
    restarts: int = 0
    failures: int = 0
    restart_at: float | None = None
    exits: list[dict[str, Any]] = field(default_factory=list)


class Stack:
    """Starts, supervises and stops the processes of one stack; pid files and the supervisor's state under
    `run_dir`, logs under `log_dir`.

    A process started with `supervise=True` (the default) is restarted with backoff whenever it exits; `stop`
    and `kill` end supervision first, so an explicit stop is never undone. The supervisor runs in a thread of
    the object that started the processes (the tests' own process, or `dvcq stack supervise`, the daemon
    `dvcq stack up` leaves running), and writes its state to `<run_dir>/supervisor.json` for `dvcq stack
    status` and the services' /readyz (children find it through DVCQ_RUN_DIR).
    """

    def __init__(
        self,
        env: dict[str, str],
        run_dir: Path,
        log_dir: Path,
        ports: dict[str, int] | None = None,
        edge: Edge | None = None,
    ):
        self.ports = {**default_ports(), **(ports or {})}
        self.env = {**env, **service_env(self.ports), "DVCQ_RUN_DIR": str(run_dir)}
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.edge = edge
        self.table = {p.name: p for p in process_table(self.ports)}
        if edge is not None:
            # behind the proxy: links and mails use its address, and the services trust its X-Forwarded-* headers
            self.env.setdefault("DVCQ_PUBLIC_URL", edge.url)
            self.env.setdefault("DVCQ_TRUSTED_PROXIES", "127.0.0.1")
            self.table[EDGE] = edge_spec(edge, run_dir)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._watch: dict[str, _Watch] = {}
        self._history: dict[str, _Watch] = {}
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._last_state = ""
        self._metrics_ready: set[str] = set()

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    @property
    def state_file(self) -> Path:
        """Where the supervisor writes what it sees (read by `dvcq stack status` and /readyz)."""
        return self.run_dir / STATE_FILE

    def start(self, *names: str, extra_env: dict[str, str] | None = None, supervise: bool = True) -> None:
        """Start the named processes (all when none is named); restart them when they exit if `supervise`
        (the restart gets the same `extra_env`)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for name in names or tuple(self.table):
                self._spawn(name, extra_env or {})
                if supervise:
                    self._watch[name] = _Watch(dict(extra_env or {}), time.monotonic())
                    self._history[name] = self._watch[name]
                else:
                    self._watch.pop(name, None)
            self._write_state()
        if self._watch and (self._thread is None or not self._thread.is_alive()):
            self._closing.clear()
            self._thread = threading.Thread(target=self._supervise_forever, name="dvcq-supervisor", daemon=True)
            self._thread.start()

    def _spawn(self, name: str, extra_env: dict[str, str]) -> None:
        spec = self.table[name]
        if name == EDGE and self.edge is not None:
            self.edge.storage.mkdir(parents=True, exist_ok=True)
            (self.run_dir / CADDYFILE).write_text(caddyfile(self.edge, local_upstreams(self.ports)), encoding="utf-8")
        env = {**self.env, **extra_env}
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self._metrics_dir(spec.service))
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            spec.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self._procs[name] = proc
        self._pidfile(name).write_text(str(proc.pid))

    def _metrics_dir(self, service: str) -> Path:
        """The Prometheus multiprocess directory every process of `service` writes to, so that the service's
        /metrics (MultiProcessCollector) shows its workers' counters too (a consumer's unhandled events).

        Emptied the first time this Stack starts one of the service's processes; after that a restart keeps
        the counters of the processes before it (a counter only grows) and drops only the live gauges of
        processes that are gone, as gunicorn's child_exit does for its workers (deploy/gunicorn.conf.py)."""
        prom = self.run_dir / "prometheus" / service
        if service not in self._metrics_ready:
            shutil.rmtree(prom, ignore_errors=True)
            prom.mkdir(parents=True)
            self._metrics_ready.add(service)
            return prom
        for live in prom.glob("gauge_live*_*.db"):
            pid = int(live.stem.rsplit("_", 1)[1])
            if not process_alive(pid):
                multiprocess.mark_process_dead(pid, str(prom))  # type: ignore[no-untyped-call]
        return prom

    def supervise_once(self) -> None:
        """Note every supervised process that exited and restart those whose backoff has passed."""
        now = time.monotonic()
        with self._lock:
            for name, watch in list(self._watch.items()):
                proc = self._procs.get(name)
                if watch.restart_at is None and proc is not None and proc.poll() is not None:
                    # What the dead process leaves in its group goes with it (systemd's KillMode=control-group):
                    # a gunicorn master killed alone leaves workers that hold its port until they notice.
                    _signal_group(proc.pid, signal.SIGKILL)
                    ran = now - watch.started_at
                    watch.failures = 1 if ran >= STABLE_SECONDS else watch.failures + 1
                    delay = min(RESTART_BASE_SECONDS * 2 ** (watch.failures - 1), RESTART_CAP_SECONDS)
                    watch.restart_at = now + delay
                    watch.exits = [*watch.exits, {"at": _iso_now(), "code": proc.returncode}][-KEPT_EXITS:]
                    log.warning(
                        "process exited, restarting",
                        extra={"proc_name": name, "code": proc.returncode, "ran": round(ran, 1), "delay": delay},
                    )
                if watch.restart_at is not None and now >= watch.restart_at:
                    self._spawn(name, watch.extra_env)
                    watch.restarts += 1
                    watch.started_at, watch.restart_at = now, None
            self._write_state()

    def _supervise_forever(self) -> None:
        while not self._closing.wait(0.2):
            try:
                self.supervise_once()
            except Exception:  # the supervisor outlives any one failure (a full disk, a vanished directory)
                log.exception("supervisor pass failed")

    def _write_state(self) -> None:
        processes = {}
        for name, spec in self.table.items():
            watch = self._history.get(name)
            supervised = name in self._watch
            running = name in self._procs and self._procs[name].poll() is None
            processes[name] = {
                "service": spec.service,
                "pid": self._procs[name].pid if running else None,
                "state": "running" if running else ("restarting" if supervised else "stopped"),
                "supervised": supervised,
                "restarts": watch.restarts if watch else 0,
                "exits": watch.exits if watch else [],
            }
        text = json.dumps({"supervisor_pid": os.getpid(), "processes": processes}, ensure_ascii=False)
        if text != self._last_state and self.run_dir.exists():
            tmp = self.state_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.state_file)
            self._last_state = text

    def pid(self, name: str) -> int | None:
        """The pid of a running process of this stack, from its pid file."""
        try:
            pid = int(self._pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def stop(self, *names: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the named processes (all when none is named, which also ends the supervisor thread): their
        supervision ends first, then `sig` to the process group, then SIGKILL."""
        targets = names or tuple(self.table)
        with self._lock:
            for name in targets:
                self._watch.pop(name, None)
        if not names:
            self._closing.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
        for name in targets:
            pid = self.pid(name)
            if pid is not None:
                _signal_group(pid, sig)
                deadline = time.monotonic() + timeout
                while process_alive(pid) and time.monotonic() < deadline:
                    self._reap(name)
                    time.sleep(0.05)
                if process_alive(pid):
                    _signal_group(pid, signal.SIGKILL)
                self._reap(name, wait=True)
            self._pidfile(name).unlink(missing_ok=True)
        with self._lock:
            self._write_state()

    def kill(self, *names: str) -> None:
        """SIGKILL the named processes and their workers at once (a crash, not a shutdown); not restarted."""
        self.stop(*names, sig=signal.SIGKILL, timeout=5.0)

    def _reap(self, name: str, wait: bool = False) -> None:
        with self._lock:
            proc = self._procs.get(name)
        if proc is not None:
            try:
                proc.wait(timeout=5 if wait else 0.001)
            except subprocess.TimeoutExpired:
                return
            with self._lock:
                if self._procs.get(name) is proc:
                    self._procs.pop(name, None)

    def exited(self) -> dict[str, int]:
        """Processes started by this object that have exited (and not been restarted yet), with their codes."""
        with self._lock:
            return {name: proc.returncode for name, proc in self._procs.items() if proc.poll() is not None}

    def url(self, service: str) -> str:
        """Base URL of a service's HTTP side."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, *names: str, timeout: float = 60.0) -> None:
        """Wait until every named HTTP process answers /readyz with 200 and every worker is alive.

        An unsupervised process that exits, or a supervised one in a crash loop, fails at once.
        """
        deadline = time.monotonic() + timeout
        pending = list(names or tuple(self.table))
        while pending:
            name = pending[0]
            spec = self.table[name]
            exited = self.exited()
            looping = crash_loops(read_state(self.run_dir))
            if (name in exited and name not in self._watch) or name in looping:
                raise RuntimeError(f"{name} exited ({exited.get(name)}); see {self.log_dir / (name + '.log')}")
            ready = self.pid(name) is not None
            if ready and name == EDGE and self.edge is not None:
                ready = _edge_answers(self.edge)
            elif ready and spec.port is not None:
                try:
                    ready = requests.get(f"{self.url(spec.service)}/readyz", timeout=2).status_code == 200
                except requests.RequestException:
                    ready = False
            if ready:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout:.0f}s; see {self.log_dir / (name + '.log')}")
            time.sleep(0.2)


def _edge_answers(edge: Edge) -> bool:
    """The proxy answers on its HTTPS address with a certificate of its local CA."""
    if not edge.root_certificate.exists():
        return False
    try:
        requests.get(f"{edge.url}/healthz", timeout=2, verify=str(edge.root_certificate))
    except requests.RequestException:
        return False
    return True


def read_state(run_dir: Path) -> dict[str, Any]:
    """The supervisor's last written state of the stack whose run directory this is ({} if none)."""
    try:
        state = json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def crash_loops(state: dict[str, Any], now: datetime | None = None) -> dict[str, int]:
    """Processes with CRASH_LOOP_EXITS exits or more within the last CRASH_LOOP_WINDOW_SECONDS, with that count."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=CRASH_LOOP_WINDOW_SECONDS)
    looping = {}
    for name, proc in (state.get("processes") or {}).items():
        recent = [e for e in proc.get("exits", []) if datetime.fromisoformat(e["at"]) >= since]
        if len(recent) >= CRASH_LOOP_EXITS:
            looping[name] = len(recent)
    return looping


def process_report(run_dir: Path, service: str | None = None) -> dict[str, Any]:
    """The supervisor's view for /readyz and `dvcq stack status`: each process (of `service` if given) with
    its state, restarts, exits (the last KEPT_EXITS) and whether it is crash-looping."""
    state = read_state(run_dir)
    looping = crash_loops(state)
    out = {}
    for name, proc in (state.get("processes") or {}).items():
        if service is None or proc.get("service") == service:
            exits = proc.get("exits") or []
            out[name] = {
                "state": proc.get("state"),
                "pid": proc.get("pid"),
                "restarts": proc.get("restarts", 0),
                "last_exit": exits[-1] if exits else None,
                "exits": exits,
                "crash_loop": name in looping,
            }
    return out


def run_supervisor(stack: Stack) -> None:
    """Keep the stack's processes running in the foreground until SIGTERM or SIGINT, then stop them all
    (`dvcq stack supervise`, which `dvcq stack up` starts detached)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    (stack.run_dir / SUPERVISOR_PID_FILE).write_text(str(os.getpid()))
    try:
        missing = [name for name in stack.table if not stack.pid(name)]
        stack.start(*missing)
        stop.wait()
    finally:
        stack.stop()
        (stack.run_dir / SUPERVISOR_PID_FILE).unlink(missing_ok=True)


def supervisor_pid(run_dir: Path) -> int | None:
    """The pid of the running `dvcq stack supervise` of this run directory, if any."""
    try:
        pid = int((run_dir / SUPERVISOR_PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
