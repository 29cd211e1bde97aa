"""The broker topology as one definition: the exchange, a quorum queue per consuming service, its bindings
and its dead-letter queue. Queue names and queue arguments are derived here and nowhere else.

Queue arguments cannot change on an existing queue (RabbitMQ refuses the declaration), so the names carry
the topology's version: version 2 added the delivery limit and at-least-once dead-lettering and is named
`dvcq.v2.<service>`. Version 1's queues (`dvcq.<service>`) are drained into version 2's and deleted by
`dvcq broker upgrade` (see shared.messaging.upgrade_queues), which `dvcq stack up` runs first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXCHANGE = "dvcq.events"
DEAD_LETTER_EXCHANGE = "dvcq.dead"
VERSION = 2

# A message is delivered at most DELIVERY_LIMIT + 1 times: a message that kills its consumer every time (the
# process dies before it can reject it) is then dead-lettered by the broker itself. Five redeliveries leave
# room for ordinary restarts (a deploy, an OOM kill) with a good message in flight.
DELIVERY_LIMIT = 5


def _queue_name(service: str, version: int) -> str:
    return f"dvcq.{service}" if version == 1 else f"dvcq.v{version}.{service}"


@dataclass(frozen=True)
class ConsumerQueue:
    """A consuming service's queue: routing keys it binds and whether only one consumer is active at a time."""

    service: str
    bindings: tuple[str, ...]
    single_active: bool = False

    @property
    def queue(self) -> str:
        """The service's work queue."""
        return _queue_name(self.service, VERSION)

    @property
    def dead_letter_queue(self) -> str:
        """Where its malformed, failing and poison messages go (inspected and replayed with `dvcq dlq`)."""
        return f"{self.queue}.dead"

    @property
    def dead_letter_key(self) -> str:
        """The routing key of its dead letters on DEAD_LETTER_EXCHANGE (the work queue's own name)."""
        return self.queue

    @property
    def arguments(self) -> dict[str, Any]:
        """The work queue's arguments. At-least-once dead-lettering keeps a message in the queue until the
        dead-letter queue has confirmed it, and RabbitMQ requires `reject-publish` overflow for it."""
        arguments: dict[str, Any] = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": self.dead_letter_key,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-delivery-limit": DELIVERY_LIMIT,
        }
        if self.single_active:
            arguments["x-single-active-consumer"] = True
        return arguments

    def legacy(self) -> tuple[LegacyQueues, ...]:
        """The queues earlier topology versions declared for this service (drained by the upgrade)."""
        return tuple(
            LegacyQueues(
                queue=_queue_name(self.service, version),
                dead_letter_queue=f"{_queue_name(self.service, version)}.dead",
                dead_letter_key=self.service,
                bindings=self.bindings,
            )
            for version in range(1, VERSION)
        )


@dataclass(frozen=True)
class LegacyQueues:
    """A service's work and dead-letter queues of an earlier version, with the bindings to remove first."""

    queue: str
    dead_letter_queue: str
    dead_letter_key: str
    bindings: tuple[str, ...]


# The aggregator binds every event: its read models are built from all of them, and so every published
# event is routable (publishers use `mandatory`). Its queue has a single active consumer, which keeps the
# one-writer rule for its per-period documents however many replicas run. Intake learns granted extensions
# for its own on-time answer; its documents are inserted once, so competing consumers are safe there. The
# notifier decides alerts and receipts from obligation events and learns each unit's staff list (F6); it
# too only inserts, by deterministic ids, and tells Sở Nội vụ when the scheduler holds or resumes the ladder.
# The scheduler applies intake's watermark (F17) only after the reports published before it: its queue has a
# single active consumer, so messages are handled one at a time in the order intake's relay published them
# (with competing consumers a watermark could be applied by one while another still holds an earlier report).
QUEUES: tuple[ConsumerQueue, ...] = (
    ConsumerQueue("intake", ("obligation.extended",)),
    ConsumerQueue("scheduler", ("report.submitted", "intake.watermark"), single_active=True),
    ConsumerQueue(
        "notifier", ("obligation.*", "unit.contacts_changed", "scheduler.ladder_held", "scheduler.ladder_resumed")
    ),
    ConsumerQueue("aggregator", ("#",), single_active=True),
)


def queue_for(service: str) -> ConsumerQueue:
    """The queue definition of a consuming service."""
    for q in QUEUES:
        if q.service == service:
            return q
    raise KeyError(f"{service} consumes nothing")
