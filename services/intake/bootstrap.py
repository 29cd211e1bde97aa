"""Intake's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.store import MongoDraftStore, MongoExtensionStore, MongoReportStore, MongoUserStore
from shared.clients import SchedulerClient
from shared.runtime import Runtime
from shared.settings import Settings


@dataclass
class Dependencies:
    """What intake's views and consumer use."""

    rt: Runtime
    reports: MongoReportStore
    drafts: MongoDraftStore
    users: MongoUserStore
    extensions: MongoExtensionStore
    scheduler: SchedulerClient


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, stores, plan, clock and the scheduler's client (call inside the worker process)."""
    rt = Runtime.build(settings, "intake")
    return Dependencies(
        rt=rt,
        reports=MongoReportStore(rt.db),
        drafts=MongoDraftStore(rt.db),
        users=MongoUserStore(rt.db),
        extensions=MongoExtensionStore(rt.db),
        scheduler=SchedulerClient(settings.service_urls["scheduler"]),
    )
