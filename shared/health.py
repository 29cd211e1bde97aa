"""What /readyz and /metrics tell beyond up or down: the depth of a service's dead-letter queue and the
supervisor's view of its processes (restarts, crash loops). Neither fails readiness: a dead letter or a
crash-looping worker needs an operator, while the HTTP side still serves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import Gauge

from shared.messaging import Publisher
from shared.procs import process_report
from shared.topology import queue_for

DEAD_LETTERS = Gauge(
    "dvcq_dead_letter_messages",
    "Messages waiting in a dead-letter queue (`dvcq dlq list`), read from the broker at each scrape",
    ["queue"],
    multiprocess_mode="livemax",
)
RESTARTS = Gauge(
    "dvcq_process_restarts",
    "Times the stack's supervisor restarted a process since it was last started on purpose",
    ["process"],
    multiprocess_mode="livemax",
)
CRASH_LOOP = Gauge(
    "dvcq_process_crash_loop",
    "1 while a process of the stack exits again and again (see `dvcq stack status`)",
    ["process"],
    multiprocess_mode="livemax",
)


def dead_letter_detail(broker: Publisher, service: str) -> dict[str, int]:
    """The number of messages in the service's dead-letter queue, by queue name (also set as a gauge)."""
    depths = broker.queue_depths([queue_for(service).dead_letter_queue])
    for queue, depth in depths.items():
        DEAD_LETTERS.labels(queue).set(depth)
    return depths


def process_detail(service: str) -> dict[str, Any]:
    """The supervisor's view of the service's processes (state, restarts, last exit, crash loop), read from
    the state file in the stack's run directory (DVCQ_RUN_DIR); empty when no supervisor runs this stack."""
    run_dir = os.environ.get("DVCQ_RUN_DIR")
    if not run_dir:
        return {}
    report = process_report(Path(run_dir), service)
    for name, proc in report.items():
        RESTARTS.labels(name).set(proc["restarts"])
        CRASH_LOOP.labels(name).set(1 if proc["crash_loop"] else 0)
    return report
