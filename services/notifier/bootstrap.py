"""Notifier's composition root: the one place that creates its clients."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifier.store import MongoLedgerStore
from shared.runtime import Runtime
from shared.settings import Settings


@dataclass
class Dependencies:
    """What the notifier's views and consumer use."""

    rt: Runtime
    ledger: MongoLedgerStore


def build_dependencies(settings: Settings) -> Dependencies:
    """Create the store client, the ledger, plan and clock (inside the process that uses them)."""
    rt = Runtime.build(settings, "notifier")
    return Dependencies(rt=rt, ledger=MongoLedgerStore(rt.db))
