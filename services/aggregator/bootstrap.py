"""Aggregator's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.aggregator.store import MongoArchive, MongoBoardStore, MongoClosingStore, MongoReportsStore
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

    def ensure_indexes(self) -> None:
        """The aggregator's indexes (idempotent)."""
        self.archive.ensure_indexes()


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, read model stores, plan and clock (inside the process that uses them)."""
    rt = Runtime.build(settings, "aggregator")
    return Dependencies(
        rt=rt,
        boards=MongoBoardStore(rt.db),
        reports=MongoReportsStore(rt.db),
        closings=MongoClosingStore(rt.db),
        archive=MongoArchive(rt.db),
    )
