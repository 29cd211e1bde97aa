"""Notifier's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifier.domain import MailContext, RetryPolicy
from services.notifier.store import (
    MongoAttemptLogStore,
    MongoContactStore,
    MongoFactStore,
    MongoInboxStore,
    MongoLedgerStore,
)
from shared.clients import SchedulerClient
from shared.clock import SystemClock
from shared.runtime import Runtime
from shared.settings import Settings


@dataclass
class Dependencies:
    """What the notifier's views, consumer and sender use.

    `wall` is the real clock: delivery retries and re-sends run on real time, never on the simulated business
    clock (`rt.clock`), so a frozen simulation still retries and a clock jump does not fire every retry at once.
    """

    rt: Runtime
    ledger: MongoLedgerStore
    attempt_logs: MongoAttemptLogStore
    contacts: MongoContactStore
    facts: MongoFactStore
    reads: MongoInboxStore
    mail: MailContext
    policy: RetryPolicy
    wall: SystemClock
    scheduler: SchedulerClient  # the consumer reads the published unit lists from it (shared.plan_follower)

    def ensure_indexes(self) -> None:
        """The notifier's indexes (idempotent)."""
        self.ledger.ensure_indexes()
        self.contacts.ensure_indexes()
        self.reads.ensure_indexes()


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, the ledger, plan and clock (inside the process that uses them)."""
    rt = Runtime.build(settings, "notifier")
    return Dependencies(
        rt=rt,
        ledger=MongoLedgerStore(rt.db),
        attempt_logs=MongoAttemptLogStore(rt.db, kept=settings.notify_attempts_kept),
        contacts=MongoContactStore(rt.db),
        facts=MongoFactStore(rt.db),
        reads=MongoInboxStore(rt.db),
        mail=MailContext(
            intake_url=settings.public_urls["intake"],
            message_domain=settings.mail_from.rsplit("@", 1)[1],
            webhook=bool(settings.webhook_url),
        ),
        policy=RetryPolicy(
            base_seconds=settings.notify_retry_base_seconds,
            cap_seconds=settings.notify_retry_cap_seconds,
            max_attempts=settings.notify_max_attempts,
            lease_seconds=settings.notify_claim_lease_seconds,
        ),
        wall=SystemClock(),
        scheduler=SchedulerClient(settings.service_urls["scheduler"]),
    )
