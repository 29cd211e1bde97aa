"""Aggregator's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.aggregator.adapters import IntakeClient
from services.aggregator.store import MongoArchive, MongoBoardStore, MongoClosingStore, MongoReportsStore
from shared.clients import SchedulerClient
from shared.runtime import Runtime
from shared.settings import Settings


@dataclass
class Dependencies:
    """What the aggregator's views and consumer use."""

    rt: Runtime
    boards: MongoBoardStore
    reports: MongoReportsStore
    closings: MongoClosingStore
    archive: MongoArchive
    scheduler: SchedulerClient
    intake: IntakeClient

    def ensure_indexes(self) -> None:
        """The aggregator's indexes (idempotent)."""
        self.boards.ensure_indexes()
        self.reports.ensure_indexes()
        self.archive.ensure_indexes()


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, read model stores, plan, clock and the other services' clients (inside the process
    that uses them)."""
    rt = Runtime.build(settings, "aggregator")
    return Dependencies(
        rt=rt,
        boards=MongoBoardStore(rt.db),
        reports=MongoReportsStore(rt.db),
        closings=MongoClosingStore(rt.db),
        archive=MongoArchive(rt.db),
        scheduler=SchedulerClient(settings.service_urls["scheduler"]),
        intake=IntakeClient(settings.service_urls["intake"]),
    )
