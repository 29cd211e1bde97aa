"""Process hygiene: nothing connects at import, clients are born in gunicorn workers, layers stay clean."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pika
import requests

from shared.catalogue import IntakeWatermark
from shared.events import Event
from shared.registry import service_names
from shared.settings import ROOT
from shared.topology import queue_for
from tests.support import TestStack, wait_for

IMPORT_ALL_WITHOUT_SOCKETS = r"""
import importlib, pkgutil, socket, sys

class NoNetwork(RuntimeError):
    pass

def refuse(*args, **kwargs):
    raise NoNetwork("a socket was opened at import time")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

import shared, services
names = []
for pkg in (shared, services):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(len(names))
"""


def test_every_module_imports_with_sockets_disabled() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITHOUT_SOCKETS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) >= 30  # the walk really covered the services and the shared library


def test_import_linter_contracts_hold() -> None:
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "lint-imports") if (ROOT / ".venv").exists() else "lint-imports"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kept, 0 broken." in proc.stdout
    for contract in ("Services share code only through shared/", "Services stand on shared/, which knows no service"):
        assert contract in proc.stdout  # the independence and layers contracts run


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_each_gunicorn_workers_clients_were_created_in_that_worker(stack: TestStack) -> None:
    masters = {service: stack.stack.pid(f"{service}-web") for service in service_names()}
    workers: dict[int, str] = {}
    for service, master in masters.items():
        assert master is not None
        url = stack.url(service, "/readyz")
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = [r.json() for r in pool.map(lambda u: requests.get(u, timeout=15), [url] * 40)]
        for answer in answers:
            assert answer["status"] == "ready", answer
            assert answer["pid"] != master
            assert _parent_pid(answer["pid"]) == master, (service, answer["pid"], master)
            assert answer["clients_created_in_pid"]["store"] == answer["pid"], answer
            assert answer["clients_created_in_pid"]["broker"] == answer["pid"], answer
            workers[answer["pid"]] = service
    # The broker agrees: each worker that answered holds its own connection, named with its pid; no
    # gunicorn master holds one; every other dvcq connection belongs to a relay, consumer or loop process.
    connected = stack.space.connection_pids()
    assert set(workers) <= set(connected), (workers, connected)
    assert not set(masters.values()) & set(connected)
    workers_of_stack = {name: stack.stack.pid(name) for name in stack.stack.table if not name.endswith("-web")}
    for pid in set(connected) - set(workers):
        assert pid in workers_of_stack.values() or _parent_pid(pid) in masters.values(), pid


def test_every_service_serves_health_metrics_and_openapi(stack: TestStack) -> None:
    for service in service_names():
        assert requests.get(stack.url(service, "/healthz"), timeout=15).json()["status"] == "ok"
        metrics = requests.get(stack.url(service, "/metrics"), timeout=15)
        assert metrics.status_code == 200
        assert "dvcq_http_requests_total" in metrics.text
        doc = requests.get(stack.url(service, "/openapi.json"), timeout=15).json()
        assert doc["openapi"].startswith("3.")
        assert {"/", "/healthz", "/readyz", "/metrics"} <= set(doc["paths"])
        assert requests.get(stack.url(service, "/"), timeout=15).json()["service"] == service
    intake = requests.get(stack.url("intake", "/openapi.json"), timeout=15).json()
    assert "post" in intake["paths"]["/api/v1/reports"]
    assert "/api/v1/reports/{agency}/{period}" in intake["paths"]
    scheduler = requests.get(stack.url("scheduler", "/openapi.json"), timeout=15).json()
    assert {"/api/v1/units", "/api/v1/calendar", "/api/v1/obligations", "/api/v1/clock"} <= set(scheduler["paths"])


def test_metrics_aggregate_over_gunicorn_workers(stack: TestStack) -> None:
    url = stack.url("notifier", "/healthz")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: requests.get(url, timeout=15), range(60)))
    text = requests.get(stack.url("notifier", "/metrics"), timeout=15).text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("dvcq_http_requests_total{") and 'route="/healthz"' in line
    )
    assert total >= 60  # a single worker's registry would see only its share


def _unhandled_on_metrics(stack: TestStack, service: str, event_type: str) -> float:
    text = requests.get(stack.url(service, "/metrics"), timeout=15).text
    wanted = f'dvcq_unhandled_events_total{{service="{service}",type="{event_type}"}}'
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(wanted))


def test_an_event_no_consumer_handler_takes_is_counted_on_the_services_metrics_across_a_web_restart(
    stack: TestStack,
) -> None:
    """The consumer is a process apart from the web: its counter reaches the service's /metrics through the
    multiprocess directory they share, and a restart of the web keeps it (a counter only grows)."""
    assert IntakeWatermark.TYPE not in queue_for("aggregator").bindings
    event = Event(
        type=IntakeWatermark.TYPE,
        subject="intake",
        subject_version=1,
        data={"received_before": datetime(2019, 6, 10, 3, tzinfo=UTC).isoformat()},
        producer="intake",
        occurred_at=datetime.now(UTC),
    )
    before = _unhandled_on_metrics(stack, "aggregator", IntakeWatermark.TYPE)
    connection = pika.BlockingConnection(pika.URLParameters(stack.amqp_url))
    try:  # straight into the queue, as a replay or a binding of an older release would deliver it
        connection.channel().basic_publish(
            "", queue_for("aggregator").queue, json.dumps(event.to_dict()).encode("utf-8")
        )
    finally:
        connection.close()
    wait_for(
        lambda: _unhandled_on_metrics(stack, "aggregator", IntakeWatermark.TYPE) == before + 1,
        timeout=90,
        what="the aggregator's /metrics to count the unhandled event",
    )
    stack.stack.kill("aggregator-web")
    stack.stack.start("aggregator-web")
    stack.stack.wait_ready(timeout=90)
    assert _unhandled_on_metrics(stack, "aggregator", IntakeWatermark.TYPE) == before + 1
