"""Helpers for tests over real processes: an isolated stack (own vhost, database prefix, ports) and its API."""

from __future__ import annotations

import email
import json
import mailbox
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.policy import default as default_policy
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import requests
from pymongo import MongoClient

from shared.auth import issue_token
from shared.clock import CACHE_SECONDS
from shared.edge import STORAGE, Edge
from shared.procs import Stack
from shared.settings import ROOT
from shared.timerules import parse_instant

T = TypeVar("T")
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


def free_ports(count: int) -> list[int]:
    """`count` TCP ports free on every address right now, chosen at random below the kernel's ephemeral range:
    a port the kernel hands out (bind to port 0) is one any outgoing connection may take as its local port
    before the server meant for it binds it (a RabbitMQ node then stops with eaddrinuse)."""
    try:
        first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    low = max(1024, first_ephemeral - 12000)
    pick = random.SystemRandom()
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            port = pick.randrange(low, first_ephemeral)
            s = socket.socket()
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def rabbitmqctl(*args: str, node: str | None = None) -> str:
    """Run rabbitmqctl on the test command's RabbitMQ node (deploy/test.sh exports its RABBITMQ_NODENAME, which
    rabbitmqctl reads) or on another local node."""
    argv = ["rabbitmqctl", "-q", *(["-n", node] if node else []), *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120).stdout


class OwnBroker:
    """A RabbitMQ node of a test's own (its own ports and data), so stopping it disturbs no other stack.

    The packaged `rabbitmq-server` runs the node as the `rabbitmq` user, which cannot enter a checkout under a
    private home directory (mode 700, as /root is): the node's data therefore lives in a directory of its own
    under /tmp, owned by that user and removed by `close()` (its logs are copied to `var/test/` first when
    DVCQ_KEEP_TEST_LOGS=1). The node runs in the foreground of a child process, so a start can fail as soon as
    the node dies, with its log in the message, and `kill()` can crash it like a power cut.
    """

    def __init__(self, name: str) -> None:
        self.tag = f"{name}{secrets.token_hex(3)}"
        self.node = f"dvcq{self.tag}@localhost"
        self.port, dist = free_ports(2)
        self.dir = Path(tempfile.mkdtemp(prefix=f"dvcq-rabbit-{self.tag}-", dir="/tmp"))
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }

    def start(self) -> OwnBroker:
        """Start the node (as the rabbitmq user, like the packaged server) and wait until it takes connections.

        Fails at once when the node exits, and when its logs stop growing for a minute without it answering.
        """
        plugins = self.dir / "enabled_plugins"
        plugins.write_text("[].\n")
        for path in (self.dir, plugins):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        console = open(self.dir / "console.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            ["rabbitmq-server"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        console.close()
        wait_for_progress(
            lambda: broker_answers(self.url),
            alive=self.running,
            progress=self._log_size,
            what=f"RabbitMQ node {self.node}",
            explain=self.log,
        )
        return self

    def running(self) -> bool:
        """True while the node's process (the packaged script, then the Erlang VM under it) runs."""
        return self.proc is not None and self.proc.poll() is None

    def beam_pid(self) -> int:
        """The pid of the node's Erlang VM (`beam.smp`), from the pid file the node writes at start."""
        return int((self.dir / "pid").read_text().strip())

    def kill(self) -> None:
        """`kill -9` the node's beam.smp (a crash: no clean shutdown) and wait until its process is gone."""
        os.kill(self.beam_pid(), signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=60)
        wait_for(lambda: not broker_answers(self.url), timeout=30, what="the killed broker to refuse connections")

    def stop_app(self) -> None:
        """Stop the broker application (connections drop, the port closes)."""
        rabbitmqctl("stop_app", node=self.node)
        wait_for(lambda: not broker_answers(self.url), timeout=30, what="the broker to stop")

    def start_app(self) -> None:
        """Start the broker application again."""
        rabbitmqctl("start_app", node=self.node)
        wait_for_progress(
            lambda: broker_answers(self.url),
            alive=self.running,
            progress=self._log_size,
            what=f"RabbitMQ node {self.node} (start_app)",
            explain=self.log,
        )

    def log(self) -> str:
        """The end of the node's console output and of its main log (for failure messages)."""
        parts = []
        for path in (self.dir / "console.log", *sorted((self.dir / "log").glob("*.log"))):
            if path.is_file():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts) or "(no log written)"

    def _log_size(self) -> int:
        paths = (self.dir / "console.log", *(self.dir / "log").glob("*.log"))
        return sum(p.stat().st_size for p in paths if p.is_file())

    def close(self) -> None:
        """Stop the node and remove its data."""
        if self.running():
            try:
                rabbitmqctl("stop", node=self.node)
            except subprocess.SubprocessError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid)
                self.proc.wait(timeout=10)
        if os.environ.get("DVCQ_KEEP_TEST_LOGS") == "1" and (self.dir / "log").is_dir():
            shutil.copytree(self.dir / "log", ROOT / "var" / "test" / f"rabbit-{self.tag}", dirs_exist_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnCluster:
    """A three-node RabbitMQ cluster of a test's own, started and stopped by `deploy/rabbitmq-cluster.sh --test`
    with its state in a temp directory (DVCQ_VAR): its own node names, free ports, data removed at `close()`.

    `url` is the comma-separated address list the services take (AMQP_URL); `node` a running node for rabbitmqctl
    (any node answers for the whole cluster).
    """

    def __init__(self, name: str) -> None:
        self.var = Path(tempfile.mkdtemp(prefix=f"dvcq-cluster-{name}-", dir="/tmp"))
        self.env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "RABBITMQ_NODENAME", "DVCQ_AMQP_PORT")}
        self.env["DVCQ_VAR"] = str(self.var)
        self.url = ""
        self.nodes: list[str] = []
        self.amqp_ports: dict[int, str] = {}
        self.stopped: set[str] = set()

    def _script(self, *args: str, timeout: float = 600) -> str:
        argv = ["bash", str(ROOT / "deploy" / "rabbitmq-cluster.sh"), "--test", *args]
        done = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"rabbitmq-cluster.sh {' '.join(args)}:\n{done.stdout}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self) -> OwnCluster:
        """Start and join the three nodes (up to ten minutes on a busy machine)."""
        exported = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in self._script("start").splitlines()
            if line.startswith("export ")
        )
        self.url = exported["AMQP_URL"]
        status = [line.split() for line in self._script("status").splitlines() if line.strip()]
        self.nodes = [fields[0] for fields in status]
        self.amqp_ports = {int(fields[2].removeprefix("amqp=")): fields[0] for fields in status}
        return self

    @property
    def node(self) -> str:
        """A node of the cluster still running (the first one not stopped by the test)."""
        return next(n for n in self.nodes if n not in self.stopped)

    def stop_node(self, node: str) -> None:
        """Stop one node gracefully (`rabbitmq-cluster.sh stop-node`); the other two carry on."""
        self._script("stop-node", str(self.nodes.index(node) + 1))
        self.stopped.add(node)

    def connections_by_node(self, vhost: str) -> dict[str, int]:
        """How many AMQP connections each node holds on `vhost` (told apart by the node's own AMQP port)."""
        out = rabbitmqctl("list_connections", "port", "vhost", "--formatter", "json", node=self.node)
        counts: dict[str, int] = {}
        for conn in json.loads(out or "[]"):
            if conn["vhost"] == vhost:
                node = self.amqp_ports[int(conn["port"])]
                counts[node] = counts.get(node, 0) + 1
        return counts

    def queue_members(self, vhost: str) -> dict[str, list[str]]:
        """The nodes holding a replica of each quorum queue of `vhost`."""
        out = rabbitmqctl("list_queues", "-p", vhost, "name", "type", "members", "--formatter", "json", node=self.node)
        return {q["name"]: sorted(q["members"]) for q in json.loads(out or "[]") if q["type"] == "quorum"}

    def close(self) -> None:
        """Stop every node, remove the cluster's data and state."""
        try:
            self._script("stop")
        finally:
            shutil.rmtree(self.var, ignore_errors=True)


def _terminate(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a child of the test's own, SIGKILL after 10 s, and reap it."""
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for_progress(
    probe: Callable[[], T | None],
    *,
    alive: Callable[[], bool],
    progress: Callable[[], object],
    what: str,
    explain: Callable[[], str] = lambda: "",
    stall: float = 60.0,
    limit: float = 600.0,
) -> T:
    """Poll `probe` until it returns something truthy, for a process that is starting: fail at once when
    `alive()` turns false, and when `progress()` (e.g. the size of its log) has not changed for `stall`
    seconds; `limit` bounds the whole wait. `explain()` (e.g. the process's log) ends the failure message.
    """
    started = last_change = time.monotonic()
    seen = progress()
    while True:
        result = probe()
        if result:
            return result
        if not alive():
            raise AssertionError(f"{what} exited while starting:\n{explain()}")
        now, current = time.monotonic(), progress()
        if current != seen:
            seen, last_change = current, now
        if now - last_change > stall or now - started > limit:
            waited = f"no progress for {now - last_change:.0f}s" if now - last_change > stall else f"{limit:.0f}s"
            raise AssertionError(f"{what} did not come up ({waited}):\n{explain()}")
        time.sleep(0.2)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server kept it, headers decoded."""

    to: str
    to_name: str
    envelope_to: str
    sender: str
    subject: str
    message_id: str
    date: str
    text: str
    html: str
    raw: bytes


class OwnSmtp:
    """deploy/smtp_server.py on a free port with a Maildir of the test's own; it can be stopped and started
    again on the same port, and lists what it received."""

    def __init__(self, name: str) -> None:
        tag = f"{name}{secrets.token_hex(3)}"
        (self.port,) = free_ports(1)
        self.dir = ROOT / "var" / "test" / f"smtp-{tag}"
        self.maildir = self.dir / "mail"
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnSmtp:
        """Start the server and wait until it accepts connections."""
        self.dir.mkdir(parents=True, exist_ok=True)
        log = open(self.dir / "smtp.log", "ab")  # noqa: SIM115 - handed to the child
        argv = [sys.executable, str(ROOT / "deploy" / "smtp_server.py"), "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--maildir", str(self.maildir)]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: port_open(self.port) or self.proc is None or self.proc.poll() is not None, what="SMTP up")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the SMTP server exited: {(self.dir / 'smtp.log').read_text(errors='replace')}")
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait until the port refuses connections."""
        _terminate(self.proc)
        self.proc = None
        wait_for(lambda: not port_open(self.port), what="SMTP down")

    def close(self) -> None:
        """Stop the server and remove its Maildir (kept with DVCQ_KEEP_TEST_LOGS=1)."""
        self.stop()
        if os.environ.get("DVCQ_KEEP_TEST_LOGS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self) -> list[Mail]:
        """Every message received so far, parsed (To, decoded Subject, Message-ID, text and HTML bodies)."""
        if not self.maildir.exists():
            return []
        out = []
        box = mailbox.Maildir(self.maildir, create=False)
        for key in sorted(box.keys()):
            raw = box.get_bytes(key)
            msg = email.message_from_bytes(raw, policy=default_policy)
            name, address = parseaddr(str(msg["To"]))
            text = msg.get_body(("plain",))
            html = msg.get_body(("html",))
            out.append(
                Mail(
                    to=address,
                    to_name=name,
                    envelope_to=str(msg["X-Envelope-To"] or ""),
                    sender=str(msg["From"]),
                    subject=str(msg["Subject"]),
                    message_id=str(msg["Message-ID"]),
                    date=str(msg["Date"]),
                    text=text.get_content().replace("\r\n", "\n") if text is not None else "",
                    html=html.get_content() if html is not None else "",
                    raw=raw,
                )
            )
        return out

    def to(self, *addresses: str) -> list[Mail]:
        """The messages addressed to any of `addresses`."""
        wanted = {a.lower() for a in addresses}
        return [m for m in self.messages() if m.to.lower() in wanted]


@contextmanager
def own_smtp(name: str) -> Iterator[OwnSmtp]:
    """A started SMTP server of the test's own, closed whatever happens."""
    server = OwnSmtp(name)
    try:
        yield server.start()
    finally:
        server.close()


@dataclass(frozen=True)
class Hook:
    """One request the webhook receiver got: its headers (lower-case names) and body bytes."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body.decode("utf-8"))


class OwnWebhook:
    """A gateway stand-in on a free port of 127.0.0.1: records every POST and answers `status` (settable)."""

    def __init__(self) -> None:
        self.requests: list[Hook] = []
        self.status = 200
        received, receiver = self.requests, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.status < 300:
                    received.append(Hook({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OwnWebhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Vhost:
    """A RabbitMQ vhost and a database prefix of one test's own, on the real broker and store."""

    __test__ = False

    def __init__(self, name: str, broker: OwnBroker | OwnCluster | None = None) -> None:
        self.tag = f"{name}{secrets.token_hex(3)}"
        self.broker = broker
        self.vhost = f"dvcq-test-{self.tag}"
        path = "/" + urllib.parse.quote(self.vhost, safe="")
        # AMQP_URL may list a cluster's nodes: the vhost goes into each address
        bases = (broker.url if broker else os.environ.get("AMQP_URL", DEFAULT_AMQP)).split(",")
        self.amqp_url = ",".join(urllib.parse.urlunsplit(urllib.parse.urlsplit(b)._replace(path=path)) for b in bases)
        self.prefix = f"t{self.tag}_"
        self.mongo_url = os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/")
        self.env = {
            "AMQP_URL": self.amqp_url,
            "MONGO_URL": self.mongo_url,
            "DVCQ_DB_PREFIX": self.prefix,
            "DVCQ_SECRET": secrets.token_urlsafe(40),
        }

    @property
    def node(self) -> str | None:
        """The node rabbitmqctl addresses: the test's own broker's (a running one of its cluster), else the test
        command's (RABBITMQ_NODENAME)."""
        return self.broker.node if self.broker else None

    def __enter__(self) -> Vhost:
        rabbitmqctl("add_vhost", self.vhost, node=self.node)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*", node=self.node)
        return self

    def __exit__(self, *exc: object) -> None:
        client: MongoClient[dict[str, Any]] = MongoClient(self.mongo_url)
        for name in client.list_database_names():
            if name.startswith(self.prefix):
                client.drop_database(name)
        client.close()
        try:
            rabbitmqctl("delete_vhost", self.vhost, node=self.node)
        except subprocess.SubprocessError:
            pass

    def connection_pids(self) -> list[int]:
        """Pids named by the dvcq connections open on this vhost ("dvcq pid N", set by shared.messaging)."""
        out = rabbitmqctl("list_connections", "vhost", "client_properties", "--formatter", "json", node=self.node)
        pids = []
        for conn in json.loads(out or "[]"):
            name = next((v for k, _, v in conn["client_properties"] if k == "connection_name"), "")
            if conn["vhost"] == self.vhost and name.startswith("dvcq pid "):
                pids.append(int(name.removeprefix("dvcq pid ")))
        return pids


class Tap:
    """A durable queue of the test's own on a stack's vhost, bound to the events exchange: it keeps a copy of every
    publication of the events it binds (duplicates included) with its AMQP properties, across broker restarts.
    Each call opens its own connection, so a tap outlives a stopped or killed broker."""

    def __init__(self, amqp_url: str, *bindings: str) -> None:
        self.amqp_url = amqp_url
        self.queue = f"test-tap-{secrets.token_hex(3)}"
        self.bindings = bindings or ("#",)
        self.seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def _channel(self) -> Any:
        import pika

        from shared.messaging import declare_topology

        channel = pika.BlockingConnection(pika.URLParameters(self.amqp_url)).channel()
        declare_topology(channel)
        return channel

    def __enter__(self) -> Tap:
        from shared.topology import EXCHANGE

        channel = self._channel()
        channel.queue_declare(self.queue, durable=True)
        for key in self.bindings:
            channel.queue_bind(self.queue, EXCHANGE, routing_key=key)
        channel.connection.close()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            channel = self._channel()
            channel.queue_delete(self.queue)
            channel.connection.close()
        except Exception:  # noqa: BLE001 - the vhost goes with the stack anyway
            pass

    def drain(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every copy received so far, oldest first: (AMQP properties as a dict, the event envelope)."""
        channel = self._channel()
        while (got := channel.basic_get(self.queue, auto_ack=True))[0] is not None:
            _method, props, body = got
            self.seen.append(({"message_id": props.message_id, "type": props.type}, json.loads(body)))
        channel.connection.close()
        return list(self.seen)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """The envelopes received so far (of one type when given), one per publication."""
        return [event for _props, event in self.drain() if type_ is None or event["type"] == type_]


def broker_answers(amqp_url: str) -> bool:
    """True when an AMQP connection to the test vhost opens."""
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(amqp_url)).close()
    except Exception:
        return False
    return True


class TestStack:
    """A whole dvcq stack for one test module or session, isolated from any other by vhost, prefix and ports."""

    __test__ = False

    def __init__(
        self, name: str, broker: OwnBroker | OwnCluster | None = None, env: dict[str, str] | None = None
    ) -> None:
        """`env`: extra variables for every process (e.g. DVCQ_PLAN), merged over the stack's defaults."""
        self.space = Vhost(name, broker)
        self.broker = broker
        self.amqp_url = self.space.amqp_url
        self.secret = self.space.env["DVCQ_SECRET"]
        *service_ports, https_port, http_port = free_ports(6)
        ports = dict(zip(("intake", "scheduler", "notifier", "aggregator"), service_ports, strict=True))
        self.edge = Edge("127.0.0.1", https_port, http_port, STORAGE)
        self.env = {**os.environ, **self.space.env, "DVCQ_CLOCK": "simulation", "WEB_CONCURRENCY": "2"}
        self.env.pop("DVCQ_FAILPOINT", None)
        # every person a test simulates logs in from 127.0.0.1: one address's login limit would be the whole suite's
        self.env.setdefault("DVCQ_LOGIN_LIMIT_PER_ADDRESS", "10000")
        self.env.update(env or {})
        self.dir = ROOT / "var" / "test" / self.space.tag
        self.stack = Stack(self.env, self.dir / "run", self.dir / "log", ports, edge=self.edge)

    # --- lifecycle ---
    def start(self) -> TestStack:
        """Create the vhost, start every process and wait until they are ready and the plan is synced."""
        self.space.__enter__()
        self.stack.start()
        self.stack.wait_ready(timeout=90)
        wait_for(lambda: self.clock().get("processed_up_to"), timeout=60, what="the scheduler's first pass")
        return self

    def close(self) -> None:
        """Stop the processes, drop the databases and the vhost."""
        self.stack.stop()
        self.space.__exit__()
        if os.environ.get("DVCQ_KEEP_TEST_LOGS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name: str) -> str:
        """A process's log so far (for failure messages)."""
        path = self.dir / "log" / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # --- API ---
    def url(self, service: str, path: str) -> str:
        """Full URL of a service route."""
        return self.stack.url(service) + path

    @property
    def public_url(self) -> str:
        """The stack's one public address: the reverse proxy in front of the services (shared.edge)."""
        return self.edge.url

    def public(self, path: str) -> str:
        """Full URL of a page or API at the public address."""
        return self.edge.url + path

    @property
    def ca(self) -> str:
        """The proxy's local CA certificate: `verify=` for requests to the public address."""
        return str(self.edge.root_certificate)

    def public_login(
        self, email: str, password: str, *, follow: bool = True
    ) -> tuple[requests.Session, requests.Response]:
        """A browser's cookie session at the one address after posting the login page's form (with its CSRF
        token), and the form's answer (followed to the landing page unless `follow` is False); the caller
        checks the answer and closes the session."""
        session = self.public_session()
        form = session.get(self.public("/login"), timeout=15).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, form[:300]
        data = {"email": email, "password": password, "csrf_token": token.group(1)}
        resp = session.post(self.public("/login"), data=data, allow_redirects=follow, timeout=30)
        return session, resp

    def public_session(self) -> requests.Session:
        """A session for the public address that trusts the proxy's local CA (and not REQUESTS_CA_BUNDLE, which
        requests would otherwise prefer to a session's own `verify`)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca
        return session

    def token(self, role: str, agency: str | None = None, sub: str | None = None) -> str:
        """A signed token for this stack."""
        return issue_token(self.secret, sub=sub or f"{role}@{agency or 'test'}", role=role, agency=agency)

    def auth(self, role: str = "admin", agency: str | None = None) -> dict[str, str]:
        """An Authorization header."""
        return {"Authorization": f"Bearer {self.token(role, agency)}"}

    def get(self, service: str, path: str, role: str = "admin", **kwargs: Any) -> requests.Response:
        """GET with an admin (or `role`) token."""
        return requests.get(self.url(service, path), headers=self.auth(role), timeout=15, **kwargs)

    def clock(self) -> dict[str, Any]:
        """The scheduler's clock endpoint."""
        resp = self.get("scheduler", "/api/v1/clock")
        resp.raise_for_status()
        return resp.json()

    def set_clock(self, when: str, rate: float = 0.0, *, wait: bool = True) -> None:
        """Set the simulated clock, then wait until the scheduler has processed up to it.

        Also lets the clock cache's documented bound (CACHE_SECONDS) pass, so every worker reads the new time.
        `wait=False` skips the wait for the pass: while intake's watermark cannot follow (the broker is down),
        the ladder holds and `processed_up_to` stays behind (F17).
        """
        target = parse_instant(when)
        resp = requests.post(
            self.url("scheduler", "/api/v1/clock"), json={"now": when, "rate": rate}, headers=self.auth(), timeout=15
        )
        assert resp.status_code == 200, resp.text
        set_at = time.monotonic()
        if not wait:
            wait_for(lambda: time.monotonic() - set_at > CACHE_SECONDS, what="the clock cache to expire")
            return

        def processed() -> bool:
            done = self.clock().get("processed_up_to")
            return bool(done) and parse_instant(done) >= target and time.monotonic() - set_at > CACHE_SECONDS

        wait_for(processed, timeout=180, what=f"processed_up_to >= {when}")

    def post_report(
        self, agency: str, period: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> requests.Response:
        """POST a report as the unit's officer."""
        payload = {"agency": agency, "period": period, **(body or {})}
        headers = {"Authorization": f"Bearer {token or self.token('agency', agency)}"}
        return requests.post(self.url("intake", "/api/v1/reports"), json=payload, headers=headers, timeout=15)

    def walk(
        self, service: str, path: str, role: str = "admin", *, auth: dict[str, str] | None = None, **params: Any
    ) -> tuple[dict[str, Any], list[Any]]:
        """Every item of a list endpoint, following `next` to the end (pages of 500), with a `role` token or the
        headers `auth`: the first answer (its other fields, such as the board's figures) and every page's items."""
        first: dict[str, Any] | None = None
        items: list[Any] = []
        asked: dict[str, Any] = {**params, "limit": 500}
        while True:
            resp = requests.get(self.url(service, path), headers=auth or self.auth(role), params=asked, timeout=30)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            first = first or body
            items += body["items"]
            if body["next"] is None:
                return first, items
            asked["cursor"] = body["next"]

    def items(
        self, service: str, path: str, role: str = "admin", *, auth: dict[str, str] | None = None, **params: Any
    ) -> list[Any]:
        """Every item of a list endpoint (`walk`)."""
        return self.walk(service, path, role, auth=auth, **params)[1]

    def compliance(self, period: str) -> dict[str, Any]:
        """The aggregator's compliance board for a period: the figures and every unit's row (`items`, all pages)."""
        head, items = self.walk("aggregator", "/api/v1/compliance", period=period)
        return {**head, "items": items}

    def unit_status(self, period: str, agency: str) -> str | None:
        """One unit's status on the compliance board."""
        rows = [u for u in self.compliance(period)["items"] if u["agency"] == agency]
        return rows[0]["status"] if rows else None

    def wait_status(self, period: str, agency: str, status: str, timeout: float = 120.0) -> None:
        """Wait until the board shows `status` for the unit."""
        try:
            wait_for(lambda: self.unit_status(period, agency) == status, timeout=timeout, what=f"{agency} {status}")
        except AssertionError as exc:
            seen = self.unit_status(period, agency)
            raise AssertionError(f"{exc}; board shows {seen}") from None

    # --- operations (the `dvcq` command, dead letters, the supervisor) ---
    def dvcq(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the `dvcq` command as a process against this stack (its vhost, databases, secret, run dir)."""
        argv = [sys.executable, "-m", "shared.cli", *args]
        return subprocess.run(argv, cwd=ROOT, env=self.stack.env, capture_output=True, text=True, timeout=timeout)

    def dead_letters(self, service: str) -> list[dict[str, Any]]:
        """A service's dead-letter queue as `dvcq dlq list --json` shows it (id, type, reason, ...)."""
        done = self.dvcq("dlq", "list", "--queue", service, "--json")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def processes(self) -> dict[str, Any]:
        """The supervisor's view of every process, as `dvcq stack status --json` shows it."""
        done = self.dvcq("stack", "status", "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout)["processes"])

    def log_records(self, name: str) -> list[dict[str, Any]]:
        """A process's JSON log lines so far, every run of it (restarts append to the same file)."""
        path = self.dir / "log" / f"{name}.log"
        records = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def reports_of(self, agency: str) -> list[dict[str, Any]]:
        """Intake's stored reports of a unit (as Sở Nội vụ sees them)."""
        return self.items("intake", "/api/v1/reports", agency=agency)


@contextmanager
def own_stack(
    name: str, broker: OwnBroker | OwnCluster | None = None, env: dict[str, str] | None = None
) -> Iterator[TestStack]:
    """A started stack for one test module (its own clock, vhost and databases), closed whatever happens."""
    s = TestStack(name, broker, env=env)
    try:
        s.start()
        yield s
    finally:
        s.close()


def local(text: str) -> datetime:
    """An ISO instant (with offset) as an aware datetime in UTC."""
    return parse_instant(text)


def make_officer(stack: TestStack, email: str, agency: str, name: str, password: str) -> None:
    """Create a unit's officer account through the real store with `dvcq user create`."""
    make_account(stack, email, name, password, agency=agency)


def make_account(
    stack: TestStack, email: str, name: str, password: str, *, agency: str | None = None, role: str | None = None
) -> None:
    """Create an account (a unit's officer with `agency`, else one of `role`) with `dvcq user create`."""
    from shared.cli import main

    env = {var: stack.space.env[var] for var in ("MONGO_URL", "DVCQ_DB_PREFIX", "DVCQ_SECRET")}
    saved = {var: os.environ.get(var) for var in (*env, "DVCQ_USER_PASSWORD")}
    os.environ.update({**env, "DVCQ_USER_PASSWORD": password})
    who = ["--agency", agency] if agency else ["--role", str(role)]
    try:
        assert main(["user", "create", "--email", email, *who, "--name", name]) == 0
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


# (indicators, field that carries the message, words of the message) for each rule of DOMAIN.md §4
ERROR_RULES = [
    ({"don_tiep_nhan_tong": 5, "don_khieu_nai": 3, "don_to_cao": 2, "don_kien_nghi_phan_anh": 1}, "don_khieu_nai",
     "Đơn khiếu nại + đơn tố cáo + đơn kiến nghị, phản ánh (6) không được lớn hơn tổng số đơn tiếp nhận (5)."),
    ({"vu_viec_thuoc_tham_quyen": 4, "vu_viec_da_giai_quyet": 3, "vu_viec_dang_giai_quyet": 2}, "vu_viec_da_giai_quyet",
     "Số vụ việc đã giải quyết + đang giải quyết (5) không được lớn hơn số vụ việc thuộc thẩm quyền (4)."),
    ({"tcd_luot": 10, "tcd_nguoi": 9}, "tcd_nguoi",
     "Số người được tiếp (9) không được nhỏ hơn số lượt tiếp công dân (10)."),
    ({"tthc_tiep_nhan_moi": 100, "tthc_tiep_nhan_truc_tuyen": 101}, "tthc_tiep_nhan_truc_tuyen",
     "Số hồ sơ tiếp nhận trực tuyến (101) không được lớn hơn số hồ sơ tiếp nhận mới (100)."),
    ({"tong_so_cbccvc": 50, "quan_triet_so_cbccvc": 51}, "quan_triet_so_cbccvc",
     "Số cán bộ, công chức, viên chức được quán triệt (51) không được lớn hơn "
     "tổng số cán bộ, công chức, viên chức (50)."),
]  # fmt: skip


# --- the invariants every fault test ends with (issue 11) ---------------------------------------------------

SUBMITTED = ("submitted_on_time", "submitted_late")


def queue_depths(stack: TestStack) -> dict[str, int]:
    """Messages ready plus unacknowledged in each queue of the stack's vhost."""
    out = rabbitmqctl(
        "list_queues", "-p", stack.space.vhost, "name", "messages", "--formatter", "json", node=stack.space.node
    )
    return {q["name"]: int(q.get("messages") or 0) for q in json.loads(out or "[]")}


def wait_quiet(stack: TestStack, *, timeout: float = 120.0) -> None:
    """Wait until every work queue of the stack is empty twice in a row, a second apart (its consumers have
    caught up with what the relays published so far)."""
    from shared.topology import queues

    work = {q.queue for q in queues()}

    def empty() -> bool:
        depths = queue_depths(stack)
        return not any(depths.get(name, 0) for name in work)

    def settled() -> bool:
        if not empty():
            return False
        time.sleep(1.0)
        return empty()

    wait_for(settled, timeout=timeout, interval=0.5, what="the stack's queues to drain")


def accepted_reports(stack: TestStack, period: str | None = None) -> list[dict[str, Any]]:
    """Every report intake holds (latest revisions), of one period or of every period of the plan's calendar."""
    periods = [period] if period else calendar_periods(stack)
    return [r for p in periods for r in stack.items("intake", "/api/v1/reports", period=p)]


def calendar_periods(stack: TestStack) -> list[str]:
    """The period keys of the plan's calendar (the scheduler's `GET /api/v1/calendar`)."""
    resp = stack.get("scheduler", "/api/v1/calendar")
    resp.raise_for_status()
    return [p["period"] for p in resp.json()["periods"]]


def all_obligations(stack: TestStack) -> list[dict[str, Any]]:
    """Every obligation the scheduler holds (it lists them by an equality filter: period by period)."""
    listed = (stack.items("scheduler", "/api/v1/obligations", period=period) for period in calendar_periods(stack))
    return [ob for page in listed for ob in page]


def ledger(stack: TestStack) -> list[dict[str, Any]]:
    """The notifier's whole ledger (it is listed by an equality filter: level by level)."""
    from services.notifier.domain import LEVELS

    return [n for level in LEVELS for n in stack.items("notifier", "/api/v1/notifications", level=level)]


def _alert_key(item: dict[str, Any]) -> tuple[str, ...]:
    """(obligation, generation, level, recipient, channel) of a ladder alert; a notification's own id otherwise
    (receipts and digests are one per event or day by construction)."""
    event_id = item["event_id"]
    if event_id.startswith("obligation:") and ":g" in event_id:
        generation = event_id.rsplit(":g", 1)[1].split(":", 1)[0]
        return (item["agency"], item["period"], generation, item["level"], item["recipient"], item["channel"])
    return (item["id"],)


def assert_invariants(
    stack: TestStack,
    *,
    mails: list[Mail] | None = None,
    dead_letters: dict[str, int] | None = None,
    rebuild: bool = True,
    timeout: float = 180.0,
) -> None:
    """Issue 11's invariants, checked once the stack has caught up:

    1. every report intake accepted is submitted (on time or late) on the board and in the scheduler;
    2. no (obligation, generation, level, recipient, channel) has two ledger entries, and no such alert reached
       the mailbox (`mails`, when the test has its own SMTP server) under two distinct Message-IDs;
    3. the read models equal `dvcq rebuild-read-models` over the producers' event feeds;
    4. each dead-letter queue holds exactly what the test expects (`dead_letters`: service → count; 0 else).
    """
    from shared.topology import queues

    wait_quiet(stack, timeout=timeout)
    reports = accepted_reports(stack)
    periods = sorted({r["period"] for r in reports})

    def reports_submitted() -> list[str]:
        missing = []
        for period in periods:
            board = {u["agency"]: u["status"] for u in stack.compliance(period)["items"]}
            obligations = {
                o["agency"]: o["status"] for o in stack.items("scheduler", "/api/v1/obligations", period=period)
            }
            for r in (r for r in reports if r["period"] == period):
                if board.get(r["agency"]) not in SUBMITTED or obligations.get(r["agency"]) not in SUBMITTED:
                    missing.append(
                        f"{r['agency']}:{period} board={board.get(r['agency'])} "
                        f"scheduler={obligations.get(r['agency'])}"
                    )
        return missing

    wait_for(lambda: not reports_submitted(), timeout=timeout, what="every accepted report to be in compliance")

    items = ledger(stack)
    by_key: dict[tuple[str, ...], list[str]] = {}
    for item in items:
        by_key.setdefault(_alert_key(item), []).append(item["id"])
    doubled = {k: v for k, v in by_key.items() if len(v) > 1}
    assert not doubled, f"alerts recorded twice: {doubled}"
    if mails is not None:
        key_of = {item["message_id"]: _alert_key(item) for item in items if item["channel"] == "email"}
        seen: dict[tuple[str, ...], set[str]] = {}
        for mail in mails:
            key = key_of.get(mail.message_id)
            if key is not None:
                seen.setdefault(key, set()).add(mail.message_id)
        twice = {k: v for k, v in seen.items() if len(v) > 1}
        assert not twice, f"alerts mailed under two Message-IDs: {twice}"

    if rebuild:
        calendar = stack.get("scheduler", "/api/v1/calendar")
        calendar.raise_for_status()
        boards = {p["period"] for p in calendar.json()["periods"] if p["applicable"] and p["expected_reports"]}
        _assert_rebuild_equals_read_models(stack, sorted(boards | set(periods)), timeout=timeout)

    expected = dead_letters or {}
    depths = queue_depths(stack)
    held = {q.service: depths.get(q.dead_letter_queue, 0) for q in queues()}
    assert held == {q.service: expected.get(q.service, 0) for q in queues()}, f"dead-letter queues hold {held}"


def _read_models(stack: TestStack, periods: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for period in periods:
        summary = stack.get("aggregator", f"/api/v1/summary?period={period}")  # 422 for a period without figures
        out[period] = (stack.compliance(period), summary.status_code, summary.json())
    return out


def _assert_rebuild_equals_read_models(stack: TestStack, periods: list[str], *, timeout: float) -> None:
    """Stop the read models' one writer, rebuild them from the feeds and compare; retried while events still
    arrive (a rebuild and the consumer converge on the same documents)."""
    deadline = time.monotonic() + timeout
    while True:
        wait_quiet(stack, timeout=timeout)
        before = _read_models(stack, periods)
        stack.stack.stop("aggregator-consumer")
        try:
            done = stack.dvcq("rebuild-read-models", timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
            after = _read_models(stack, periods)
        finally:
            stack.stack.start("aggregator-consumer")
        if after == before:
            return
        if time.monotonic() > deadline:
            assert after == before, "the read models differ from a rebuild from the producers' event feeds"


# --- clients and probes of the fault scenarios -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One HTTP attempt of a client: its status (None when no answer came: refused, reset or timed out), how
    long it took, its Retry-After header and, without an answer, the error."""

    status: int | None
    seconds: float
    retry_after: str | None = None
    error: str | None = None


def post_report_until_answered(
    stack: TestStack,
    agency: str,
    period: str,
    body: dict[str, Any] | None = None,
    *,
    key: str,
    timeout: float = 180.0,
    request_timeout: float = 15.0,
    on_answer: Callable[[Answer], None] | None = None,
) -> tuple[requests.Response | None, list[Answer]]:
    """POST a first report as a careful client does: with an Idempotency-Key, sent again with the same key after
    no answer, a 5xx or a 429 (after its Retry-After, at most 5 s), until another answer or `timeout` seconds.
    Returns the last response (None if none came) and every attempt; `on_answer` sees each attempt as it ends."""
    payload = {"agency": agency, "period": period, **(body or {})}
    headers = {"Authorization": f"Bearer {stack.token('agency', agency)}", "Idempotency-Key": key}
    answers: list[Answer] = []
    deadline = time.monotonic() + timeout
    resp: requests.Response | None = None
    pause = 0.2
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            resp = requests.post(
                stack.url("intake", "/api/v1/reports"), json=payload, headers=headers, timeout=request_timeout
            )
        except requests.RequestException as exc:
            answers.append(Answer(None, time.monotonic() - started, error=exc.__class__.__name__))
            resp = None
            if on_answer is not None:
                on_answer(answers[-1])
        else:
            retry_after = resp.headers.get("Retry-After")
            answers.append(Answer(resp.status_code, time.monotonic() - started, retry_after))
            if on_answer is not None:
                on_answer(answers[-1])
            if resp.status_code < 500 and resp.status_code != 429:
                return resp, answers
            if retry_after and retry_after.isdigit():
                pause = min(float(retry_after), 5.0)
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    return resp, answers


def published_events(stack: TestStack, service: str, type_: str | None = None) -> list[dict[str, Any]]:
    """A producer's whole event feed (`GET /api/v1/events`, paged by its cursor), of one type when given."""
    items: list[dict[str, Any]] = []
    after = ""
    while True:
        resp = stack.get(service, f"/api/v1/events?limit=1000&after={urllib.parse.quote(after)}")
        resp.raise_for_status()
        page = resp.json()
        items += page["items"]
        if not page["items"]:
            return [e for e in items if type_ is None or e["type"] == type_]
        after = page["next"]


def worker_pids(master: int) -> list[int]:
    """The live child processes of a process (a gunicorn master's workers)."""
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


class OwnStore:
    """A FerretDB of a test's own on a free port, on a PostgreSQL database of its own in the test command's cluster
    (DVCQ_POSTGRESQL_URL, exported by deploy/test.sh), so that stopping it disturbs no other stack. The binary is
    the one deploy/lib.sh uses: DVCQ_FERRETDB_BIN, else `ferretdb` on PATH, else var/bin/ferretdb, else that of
    the FerretDB already running on this machine."""

    def __init__(self, name: str) -> None:
        self.tag = f"{name}{secrets.token_hex(3)}"
        (self.port,) = free_ports(1)
        self.dir = ROOT / "var" / "test" / f"store-{self.tag}"
        self.url = f"mongodb://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None
        self.binary = os.environ.get("DVCQ_FERRETDB_BIN") or shutil.which("ferretdb") or _ferretdb_binary()
        cluster = os.environ.get("DVCQ_POSTGRESQL_URL")
        if not cluster:
            raise AssertionError("DVCQ_POSTGRESQL_URL is not set: run the tests through deploy/test.sh")
        self.cluster = urllib.parse.urlsplit(cluster)
        self.database = f"dvcq_store_{self.tag}"
        self.postgresql_url = urllib.parse.urlunsplit(self.cluster._replace(path="/" + self.database))

    def _psql(self, sql: str) -> None:
        admin = urllib.parse.urlunsplit(self.cluster._replace(path="/postgres"))
        subprocess.run(["psql", "-X", "-q", admin, "-c", sql], check=True, capture_output=True, timeout=60)

    def start(self) -> OwnStore:
        """Start FerretDB on its port and database (kept across restarts) and wait until it answers ping; fail at
        once if it exits, with its log."""
        if not os.access(self.binary, os.X_OK):
            raise AssertionError(f"no ferretdb at {self.binary}: run deploy/test.sh once or set DVCQ_FERRETDB_BIN")
        state = self.dir / "state"
        if not state.exists():
            state.mkdir(parents=True)
            self._psql(f"CREATE DATABASE {self.database}")
        log = open(self.dir / "ferretdb.log", "ab")  # noqa: SIM115 - handed to the child
        argv = [self.binary, "--handler=postgresql", f"--postgresql-url={self.postgresql_url}", f"--state-dir={state}"]
        argv += [f"--listen-addr=127.0.0.1:{self.port}", "--telemetry=disable", "--debug-addr=-", "--log-level=error"]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_for_progress(
            self.answers,
            alive=lambda: self.proc is not None and self.proc.poll() is None,
            progress=lambda: 0,
            what=f"FerretDB on port {self.port}",
            explain=lambda: (self.dir / "ferretdb.log").read_text(errors="replace")[-3000:],
        )
        return self

    def answers(self) -> bool:
        """True when the store answers ping."""
        client: MongoClient[dict[str, Any]] = MongoClient(self.url, serverSelectionTimeoutMS=1000)
        try:
            client.admin.command("ping")
        except Exception:  # noqa: BLE001 - any failure means "not up"
            return False
        finally:
            client.close()
        return True

    def stop(self) -> None:
        """Stop FerretDB (SIGTERM, SIGKILL after 10 s) and wait until its port refuses connections."""
        _terminate(self.proc)
        self.proc = None
        wait_for(lambda: not port_open(self.port), what="the store to stop")

    def close(self) -> None:
        """Stop it, drop its database and remove its directory (both kept with DVCQ_KEEP_TEST_LOGS=1)."""
        self.stop()
        if os.environ.get("DVCQ_KEEP_TEST_LOGS") != "1":
            self._psql(f"DROP DATABASE IF EXISTS {self.database}")
            shutil.rmtree(self.dir, ignore_errors=True)


def _ferretdb_binary() -> str:
    """var/bin/ferretdb when built here, else the executable of a running ferretdb process."""
    built = ROOT / "var" / "bin" / "ferretdb"
    if built.exists():
        return str(built)
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "ferretdb":
                return os.readlink(proc / "exe")
        except OSError:
            continue
    return str(built)


# --- the stepped 2019-H1 scenario (DOMAIN.md §3 dates): the e2e alert test and the notifier's fault tests ----

H1_STEPS = ("06-03T08:00", "06-05T10:00", "06-06T08:00", "06-07T08:00", "06-11T08:00", "06-17T08:00",
            "06-20T08:00", "06-30T08:00")  # fmt: skip
H1_DIGEST_DAYS = ("2019-06-03", "2019-06-05", "2019-06-06", "2019-06-07", "2019-06-11", "2019-06-17", "2019-06-20")
TRACU_STAFF = [
    {"ho_ten": "Nguyễn Thị Lan", "chuc_vu": "Chuyên viên", "email": "lan.nt@tracu.travinh.example",
     "alert_role": "focal"},
    {"ho_ten": "Trần Văn Hùng", "chuc_vu": "Chủ tịch UBND huyện", "email": "hung.tv@tracu.travinh.example",
     "alert_role": "head"},
    {"ho_ten": "Lê Văn Út", "chuc_vu": "Văn thư", "email": "ut.lv@tracu.travinh.example", "alert_role": "other"},
]  # fmt: skip


def notifications(stack: TestStack, query: str = "") -> list[dict[str, Any]]:
    """The notifier's ledger as Sở Nội vụ lists it (`query`: agency, period, level, status, channel)."""
    filters = dict(urllib.parse.parse_qsl(query))
    return stack.items("notifier", "/api/v1/notifications", role="home_affairs", **filters)


def wait_relayed(stack: TestStack, *, timeout: float = 180.0) -> None:
    """Wait until intake's and the scheduler's outboxes hold no pending event (their relays published all)."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.space.mongo_url)
    try:
        dbs = [client[f"{stack.space.prefix}{service}"] for service in ("intake", "scheduler")]

        def drained() -> bool:
            pending = ({"pending": True},)
            return not any(db[name].count_documents(*pending) for db in dbs for name in db.list_collection_names())

        wait_for(drained, timeout=timeout, interval=0.5, what="the outboxes relayed")
    finally:
        client.close()


def step_through_h1(stack: TestStack) -> None:
    """Step the simulated clock through 2019-H1 (H1_STEPS): H_TIEUCAN reports on 05/06 10:00 (on time) and
    H_TRACU sends its staff list then; H_CAUKE and the others never report.

    After each step the outboxes are relayed and the queues drain before the next, so every alert is decided on
    the business day it belongs to (an alert states the days overdue of the day it is decided), and each
    working day's digest is waited for (a day the clock jumps over before 07:30 would have none).
    """
    for step in H1_STEPS:
        stack.set_clock(f"2019-{step}:00+07:00")
        day = f"2019-{step[:5]}"
        if day in H1_DIGEST_DAYS:
            wait_for(
                lambda day=day: day in {n["event_id"].rsplit(":", 1)[1] for n in notifications(stack, "level=digest")},
                timeout=90,
                what=f"the digest of {day}",
            )
        if step == "06-05T10:00":
            # The staff list must come after the 03/06 reminder was decided (the queues drained at 03/06).
            assert stack.post_report("H_TIEUCAN", "2019-H1").json()["on_time"] is True
            assert stack.post_report("H_TRACU", "2019-STAFF", {"staff": TRACU_STAFF}).status_code == 201
            wait_for(
                lambda: notifications(stack, "agency=H_TIEUCAN&level=receipt"), timeout=120, what="H_TIEUCAN's receipt"
            )
        wait_relayed(stack)  # the step's events are published ...
        wait_quiet(stack, timeout=180)  # ... and decided before the clock moves on
