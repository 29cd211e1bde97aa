"""The broker topology as one definition: the exchange, a quorum queue per consuming service, its bindings
and its dead-letter queue. Queue names and queue arguments are derived here and nowhere else.

Queue arguments cannot change on an existing queue (RabbitMQ refuses the declaration), so the names carry
the topology's version: version 2 added the delivery limit and at-least-once dead-lettering and is named
`dvcq.v2.<service>`. Version 1's queues (`dvcq.<service>`) are drained into version 2's and deleted by
`dvcq broker upgrade` (see shared.messaging.upgrade_queues), which `dvcq stack up` runs first.

Routing is written once: a service's consumer module holds its EVENT_HANDLERS table (event class -> handlers)
and its QUEUE, whose bindings are the table's event types (`ConsumerQueue.handling`); `queues()` collects the
QUEUE of every service of shared.registry. Bindings are exact event types, never wildcards, so a consumer
receives only what it handles. Bindings an earlier release used (`retired_bindings`) are removed when the
topology is declared: binding sets can change on a live queue, queue arguments cannot.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from shared.registry import services

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
    retired_bindings: tuple[str, ...] = ()

    @classmethod
    def handling(
        cls,
        service: str,
        handlers: Mapping[Any, object],
        *,
        single_active: bool = False,
        retired_bindings: tuple[str, ...] = (),
    ) -> ConsumerQueue:
        """The queue of a service whose EVENT_HANDLERS table is `handlers` (keyed by event classes with a
        TYPE): it binds exactly the event types the table handles."""
        return cls(service, tuple(key.TYPE for key in handlers), single_active, retired_bindings)

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
        dead-letter queue has confirmed it, and RabbitMQ requires `reject-publish` overflow for it.

        No `x-quorum-initial-group-size`: RabbitMQ's default (3) already puts a replica on each node of a
        three-node cluster, and it compares that argument when a queue is declared again, so adding it would
        get every existing queue refused (PRECONDITION_FAILED)."""
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
                bindings=self.bindings + self.retired_bindings,
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


@cache
def queues() -> tuple[ConsumerQueue, ...]:
    """The queue of every registered service that consumes events (its consumer module's QUEUE)."""
    found = []
    for plugin in services():
        if plugin.consumer is not None:
            queue = importlib.import_module(plugin.consumer).QUEUE
            if not isinstance(queue, ConsumerQueue) or queue.service != plugin.name:
                raise TypeError(f"{plugin.consumer}.QUEUE is not the ConsumerQueue of {plugin.name}")
            found.append(queue)
    return tuple(found)


def routed_types() -> frozenset[str]:
    """The event types some queue binds (a publisher expects these to be routed)."""
    return frozenset(key for q in queues() for key in q.bindings)


def queue_for(service: str) -> ConsumerQueue:
    """The queue definition of a consuming service."""
    for q in queues():
        if q.service == service:
            return q
    raise KeyError(f"{service} consumes nothing")
