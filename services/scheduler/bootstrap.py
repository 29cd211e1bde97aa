"""Scheduler's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.scheduler.store import MongoAgendaStore, MongoObligationStore, MongoPassStore, MongoPlanVersionStore
from shared.runtime import Runtime
from shared.settings import Settings


@dataclass
class Dependencies:
    """What the scheduler's views and workers use."""

    rt: Runtime
    obligations: MongoObligationStore
    passes: MongoPassStore
    agenda: MongoAgendaStore
    versions: MongoPlanVersionStore


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, stores, plan and clock (call inside the process that uses them)."""
    rt = Runtime.build(settings, "scheduler", follows_versions=False)
    return Dependencies(
        rt=rt,
        obligations=MongoObligationStore(rt.db),
        passes=MongoPassStore(rt.db),
        agenda=MongoAgendaStore(rt.db),
        versions=MongoPlanVersionStore(rt.db),
    )
