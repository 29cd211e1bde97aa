"""The run and test commands own what they start: they never adopt a server another checkout holds, and the test
command leaves nothing of its own running when it ends, pass or fail.

Each command runs as a second instance of the scripts with its state in a temp directory (DVCQ_VAR) and none of
this test run's URLs, so nothing here touches the stack this test run uses, nor the checkout's var/.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import ROOT
from tests.support import _ferretdb_binary, free_ports

# what the scripts read from the environment that would make them use, not start, a component
URL_VARIABLES = ("AMQP_URL", "MONGO_URL", "SMTP_URL", "DVCQ_POSTGRESQL_URL", "RABBITMQ_NODENAME")
PORT_VARIABLES = {"rabbitmq": "DVCQ_AMQP_PORT", "ferretdb": "DVCQ_MONGO_PORT", "smtp": "DVCQ_SMTP_PORT"}
COMPONENT_URLS = {"rabbitmq": "AMQP_URL", "ferretdb": "MONGO_URL", "smtp": "SMTP_URL"}
STARTED = re.compile(r"\[dvcq\] starting (?P<what>.+?) on 127\.0\.0\.1:(?P<port>\d+)")


def scripts_env(var: Path, **extra: str) -> dict[str, str]:
    """The environment of a second instance of the scripts: its own state directory, no URL of this run."""
    env = {key: value for key, value in os.environ.items() if key not in URL_VARIABLES and key not in PORT_VARIABLES}
    binary = os.environ.get("DVCQ_FERRETDB_BIN") or shutil.which("ferretdb") or _ferretdb_binary()
    return {**env, "DVCQ_VAR": str(var), "DVCQ_FERRETDB_BIN": binary, **extra}


def listener_pid(port: int) -> int | None:
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found[1]) if found else None


def processes_mentioning(*needles: str) -> list[str]:
    """The live processes whose command line holds one of the needles (pid and command line)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(needle in cmdline for needle in needles):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


@pytest.fixture
def foreign_listener() -> Iterator[socket.socket]:
    """A server socket of this test process on a free port: a server another checkout started."""
    (port,) = free_ports(1)
    server = socket.create_server(("127.0.0.1", port))
    yield server
    server.close()


@pytest.mark.parametrize("component", sorted(PORT_VARIABLES))
def test_the_run_command_refuses_a_port_held_by_a_server_it_did_not_start(
    tmp_path: Path, foreign_listener: socket.socket, component: str
) -> None:
    port = foreign_listener.getsockname()[1]
    # the other two components are given by URL, so only the port under test is checked
    others = {COMPONENT_URLS[name]: "x://unused" for name in COMPONENT_URLS if name != component}
    env = scripts_env(tmp_path, **{PORT_VARIABLES[component]: str(port)}, **others)
    proc = subprocess.run(["bash", "deploy/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    message = proc.stderr
    assert f"port {port} ({component}) is taken by pid {os.getpid()}" in message, message
    assert PORT_VARIABLES[component] in message and COMPONENT_URLS[component] in message
    assert "[dvcq] starting" not in message  # it refused before starting anything
    assert list(tmp_path.glob("run/*.pid")) == []


def test_the_run_command_on_a_cluster_refuses_a_node_port_held_by_a_server_it_did_not_start(
    tmp_path: Path, foreign_listener: socket.socket
) -> None:
    """The cluster's second node would take DVCQ_AMQP_PORT + 1: held by someone else, nothing starts."""
    port = foreign_listener.getsockname()[1]
    if listener_pid(port - 1) is not None:
        pytest.skip(f"port {port - 1}, the first node's, is taken too")
    env = scripts_env(tmp_path, DVCQ_AMQP_PORT=str(port - 1), MONGO_URL="x://unused", SMTP_URL="x://unused")
    proc = subprocess.run(
        ["bash", "deploy/run.sh", "--rabbitmq-cluster"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert f"port {port} (rabbitmq-r2) is taken by pid {os.getpid()}" in proc.stderr, proc.stderr
    assert "[dvcq] starting" not in proc.stderr
    assert list(tmp_path.glob("run/*.pid")) == []


def test_the_run_command_refuses_the_default_smtp_port_when_another_checkout_holds_it(tmp_path: Path) -> None:
    """With no port given, run.sh wants 8025: whoever holds it (another checkout here, or this test) is not it."""
    ours = None
    if listener_pid(8025) is None:
        try:
            ours = socket.create_server(("127.0.0.1", 8025))
        except OSError:
            pytest.skip("port 8025 is taken by a process ss cannot name")
    try:
        owner = listener_pid(8025)
        env = scripts_env(tmp_path, AMQP_URL="x://unused", MONGO_URL="x://unused")
        proc = subprocess.run(["bash", "deploy/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        if ours is not None:
            ours.close()
    assert proc.returncode != 0
    assert f"port 8025 (smtp) is taken by pid {owner}" in proc.stderr, proc.stderr
    assert listener_pid(8025) in (owner, None)  # the holder was left alone


@pytest.fixture
def default_ports_held() -> Iterator[dict[int, int | None]]:
    """Every default port (5672, 27017, 8025) held by someone else: this machine's other stack where it runs one,
    else a listener of this test. Yields each port's holder."""
    held = []
    for port in (5672, 27017, 8025):
        if listener_pid(port) is None:
            try:
                held.append(socket.create_server(("127.0.0.1", port)))
            except OSError:
                pass  # held by a process ss cannot name: someone else's all the same
    yield {port: listener_pid(port) for port in (5672, 27017, 8025)}
    for server in held:
        server.close()


@pytest.mark.parametrize("outcome", ["passed", "failed"])
def test_the_test_command_starts_its_own_parts_and_stops_every_one_when_it_ends(
    tmp_path: Path, default_ports_held: dict[int, int | None], outcome: str
) -> None:
    """With the default ports held by another stack, the test command starts its own RabbitMQ node, PostgreSQL,
    FerretDB and SMTP server on other ports, and when pytest ends, pass or fail, none of them runs any more; the
    servers on the default ports are untouched."""
    selection = "tests/unit/test_timerules.py" + ("" if outcome == "passed" else "::test_no_such_test")
    proc = subprocess.run(
        ["bash", "deploy/test.sh", "-q", "-x", selection],
        cwd=ROOT,
        env=scripts_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == (outcome == "passed"), output[-3000:]
    started = {
        match["what"].removeprefix("the ").split()[0]: int(match["port"]) for match in STARTED.finditer(proc.stderr)
    }
    assert started.keys() == {"RabbitMQ", "PostgreSQL", "FerretDB", "SMTP"}, proc.stderr
    assert not set(started.values()) & set(default_ports_held)
    node = re.search(r"starting RabbitMQ node (?P<name>[^@\s]+)@", proc.stderr)
    assert node
    for what, port in started.items():
        assert listener_pid(port) is None, f"{what} still listens on {port}"
    assert processes_mentioning(str(tmp_path), node["name"]) == []
    assert list(tmp_path.glob("test-deps/run/*.pid")) == []
    assert not Path("/var/lib/rabbitmq", node["name"]).exists()  # the test node's data went with it
    assert {port: listener_pid(port) for port in default_ports_held} == default_ports_held


def test_a_second_test_command_of_the_same_checkout_refuses_while_the_first_runs(tmp_path: Path) -> None:
    """Both would use the same var/test-deps/: the second one's start would stop the first one's components."""
    # a command line like a running test.sh (two commands, so bash does not exec sleep in its place)
    first = subprocess.Popen(["bash", "-c", "sleep 60; true", "deploy/test.sh"], start_new_session=True)
    try:
        run_dir = tmp_path / "test-deps" / "run"
        run_dir.mkdir(parents=True)
        (run_dir / "owner.pid").write_text(f"{first.pid}\n")
        proc = subprocess.run(
            ["bash", "deploy/test.sh", "tests/unit/test_timerules.py"],
            cwd=ROOT,
            env=scripts_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0
        assert f"another script of this checkout (pid {first.pid}) is using {tmp_path}/test-deps" in proc.stderr
        assert "[dvcq] starting" not in proc.stderr and "stopping" not in proc.stderr
        assert first.poll() is None and (run_dir / "owner.pid").read_text().strip() == str(first.pid)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # bash and its sleep
        first.wait()


def test_the_test_command_stops_what_a_test_left_running(tmp_path: Path) -> None:
    """A process a test started in a session of its own and never stopped (as a pytest killed before its
    fixtures' teardown leaves a stack) is stopped when pytest ends: the command runs it as a subreaper."""
    marker = f"dvcq-leftover-{tmp_path.name}"
    leaky = tmp_path / "test_leaves_a_process.py"
    leaky.write_text(
        "import subprocess, sys\n\n\n"
        "def test_leaves_a_process_running():\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}],"
        " start_new_session=True)\n"
    )
    proc = subprocess.run(
        ["bash", "deploy/test.sh", "-q", str(leaky)],
        cwd=ROOT,
        env=scripts_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "stopped 1 process(es) the tests left running" in proc.stderr
    assert processes_mentioning(marker) == []
