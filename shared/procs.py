"""The process table of a dvcq stack and a small supervisor, used by `dvcq stack up|down` and by the tests.

Each service's HTTP side runs under gunicorn (workers forked without preload); the outbox relays, the
consumers and the scheduler loop are separate processes started fresh (never forks of a client holder).
Each process leads its own session, so stopping one stops its gunicorn workers too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from shared.settings import DEFAULT_PORTS, ROOT, SERVICES


@dataclass(frozen=True)
class ProcSpec:
    """One process of the stack."""

    name: str
    service: str
    argv: tuple[str, ...]
    port: int | None = None


def process_table(ports: dict[str, int] | None = None) -> tuple[ProcSpec, ...]:
    """Every process of a stack: four gunicorn services and their workers."""
    ports = {**DEFAULT_PORTS, **(ports or {})}
    py = sys.executable
    table = [
        ProcSpec(
            f"{svc}-web",
            svc,
            (
                py,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{ports[svc]}",
                f"services.{svc}.app:create_app()",
            ),
            ports[svc],
        )
        for svc in SERVICES
    ]
    workers = (
        ("intake-relay", "intake", "services.intake.relay"),
        ("intake-consumer", "intake", "services.intake.consumer"),
        ("scheduler-relay", "scheduler", "services.scheduler.relay"),
        ("scheduler-loop", "scheduler", "services.scheduler.loop"),
        ("scheduler-consumer", "scheduler", "services.scheduler.consumer"),
        ("notifier-relay", "notifier", "services.notifier.relay"),
        ("notifier-consumer", "notifier", "services.notifier.consumer"),
        ("notifier-sender", "notifier", "services.notifier.sender"),
        ("notifier-digest", "notifier", "services.notifier.digest"),
        ("aggregator-consumer", "aggregator", "services.aggregator.consumer"),
    )
    table += [ProcSpec(name, svc, (py, "-m", module)) for name, svc, module in workers]
    return tuple(table)


def service_env(ports: dict[str, int]) -> dict[str, str]:
    """The *_URL variables that let services call each other on these ports."""
    return {f"{svc.upper()}_URL": f"http://127.0.0.1:{port}" for svc, port in ports.items()}


class Stack:
    """Starts, watches and stops the processes of one stack; pid files under `run_dir`, logs under `log_dir`."""

    def __init__(self, env: dict[str, str], run_dir: Path, log_dir: Path, ports: dict[str, int] | None = None):
        self.ports = {**DEFAULT_PORTS, **(ports or {})}
        self.env = {**env, **service_env(self.ports)}
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.table = {p.name: p for p in process_table(self.ports)}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def start(self, *names: str, extra_env: dict[str, str] | None = None) -> None:
        """Start the named processes (all when none is named)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names or tuple(self.table):
            spec = self.table[name]
            env = {**self.env, **(extra_env or {})}
            if spec.port is not None:
                prom = self.run_dir / "prometheus" / spec.service
                shutil.rmtree(prom, ignore_errors=True)
                prom.mkdir(parents=True)
                env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
            proc = subprocess.Popen(
                spec.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
            self._procs[name] = proc
            self._pidfile(name).write_text(str(proc.pid))

    def pid(self, name: str) -> int | None:
        """The pid of a running process of this stack, from its pid file."""
        try:
            pid = int(self._pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def stop(self, *names: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the named processes (all when none is named): `sig` to the process group, then SIGKILL."""
        for name in names or tuple(self.table):
            pid = self.pid(name)
            if pid is not None:
                _signal_group(pid, sig)
                deadline = time.monotonic() + timeout
                while _alive(pid) and time.monotonic() < deadline:
                    self._reap(name)
                    time.sleep(0.05)
                if _alive(pid):
                    _signal_group(pid, signal.SIGKILL)
                self._reap(name, wait=True)
            self._pidfile(name).unlink(missing_ok=True)

    def kill(self, *names: str) -> None:
        """SIGKILL the named processes and their workers at once (a crash, not a shutdown)."""
        self.stop(*names, sig=signal.SIGKILL, timeout=5.0)

    def _reap(self, name: str, wait: bool = False) -> None:
        proc = self._procs.get(name)
        if proc is not None:
            try:
                proc.wait(timeout=5 if wait else 0.001)
            except subprocess.TimeoutExpired:
                return
            self._procs.pop(name, None)

    def exited(self) -> dict[str, int]:
        """Processes started by this object that have exited, with their return codes."""
        return {name: proc.returncode for name, proc in self._procs.items() if proc.poll() is not None}

    def url(self, service: str) -> str:
        """Base URL of a service's HTTP side."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, *names: str, timeout: float = 60.0) -> None:
        """Wait until every named HTTP process answers /readyz with 200 and every worker is alive."""
        deadline = time.monotonic() + timeout
        pending = list(names or tuple(self.table))
        while pending:
            name = pending[0]
            spec = self.table[name]
            if name in self.exited():
                raise RuntimeError(f"{name} exited with {self.exited()[name]}; see {self.log_dir / (name + '.log')}")
            ready = self.pid(name) is not None
            if ready and spec.port is not None:
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


def _alive(pid: int) -> bool:
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
