"""The broker topology as one definition: the exchange, a quorum queue per consuming service, its bindings
and its dead-letter queue. Queue names are derived here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

EXCHANGE = "dvcq.events"
DEAD_LETTER_EXCHANGE = "dvcq.dead"


@dataclass(frozen=True)
class ConsumerQueue:
    """A consuming service's queue: routing keys it binds and whether only one consumer is active at a time."""

    service: str
    bindings: tuple[str, ...]
    single_active: bool = False

    @property
    def queue(self) -> str:
        """The service's work queue."""
        return f"dvcq.{self.service}"

    @property
    def dead_letter_queue(self) -> str:
        """Where its malformed messages go."""
        return f"dvcq.{self.service}.dead"


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
