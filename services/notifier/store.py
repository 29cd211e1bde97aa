"""Notifier's store: the notification ledger on MongoDB."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING

from services.notifier.domain import Notification
from shared.store import insert_once

NOTIFICATIONS = "notifications"


class MongoLedgerStore:
    """One document per notification, `_id` = its id."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """Indexes for the ledger's filters."""
        self.db[NOTIFICATIONS].create_index([("agency", ASCENDING), ("period", ASCENDING)])

    def record(self, notification: Notification) -> bool:
        """Insert once."""
        return insert_once(self.db[NOTIFICATIONS], {"_id": notification.id, **asdict(notification)})

    def find(self, **filters: Any) -> list[Notification]:
        """Notifications matching the non-empty filters, oldest decision first."""
        query = {k: v for k, v in filters.items() if v}
        docs = self.db[NOTIFICATIONS].find(query).sort("decided_at", ASCENDING)
        return [Notification(**{k: v for k, v in d.items() if k != "_id"}) for d in docs]
