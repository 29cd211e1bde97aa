"""Aggregator's stores on MongoDB: one document per period for the board and for the reports, read and written
by `_id`; the closings (inserted once) and the archive of issued documents (inserted, never changed)."""

from __future__ import annotations

from typing import Any

from pymongo import DESCENDING

from services.aggregator.domain import board_id, closing_id, reports_id
from shared.store import insert_once

COMPLIANCE = "compliance"
REPORTS = "reports"
CLOSINGS = "closings"
ARCHIVE = "archive"


class MongoBoardStore:
    """Whole-document reads and writes by `_id`; one writer (the single active consumer)."""

    collection = COMPLIANCE

    def __init__(self, db: Any) -> None:
        self.db = db

    def _id(self, plan_id: str, period: str) -> str:
        return board_id(plan_id, period)

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """A period's document."""
        return self.db[self.collection].find_one({"_id": self._id(plan_id, period)})

    def put(self, doc: dict[str, Any]) -> None:
        """Replace a period's document."""
        self.db[self.collection].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def all(self) -> list[dict[str, Any]]:
        """Every period's document (the overdue list across periods; one per period, a handful a year)."""
        return list(self.db[self.collection].find({}))

    def clear(self) -> None:
        """Drop every document (before a rebuild)."""
        self.db[self.collection].delete_many({})


class MongoReportsStore(MongoBoardStore):
    """Each unit's latest revision, one document per period (`reports:<plan>:<period>`)."""

    collection = REPORTS

    def _id(self, plan_id: str, period: str) -> str:
        return reports_id(plan_id, period)


class MongoClosingStore:
    """A period's closing (chốt số liệu): one document, inserted once."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def close(self, plan_id: str, period: str, closing: dict[str, Any]) -> bool:
        """Insert the closing once; False if the period was already closed."""
        return insert_once(self.db[CLOSINGS], {"_id": closing_id(plan_id, period), **closing})

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """The closing of a period, or None while it is open."""
        return self.db[CLOSINGS].find_one({"_id": closing_id(plan_id, period)})


class MongoArchive:
    """Every issued document, its bytes and the data it was made from, inserted once and never changed."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The list by period, newest first."""
        self.db[ARCHIVE].create_index([("period", DESCENDING), ("issued_at", DESCENDING)])

    def add(self, record: dict[str, Any]) -> bool:
        """Insert a record (its `_id` is unique)."""
        return insert_once(self.db[ARCHIVE], record)

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One record with its bytes."""
        return self.db[ARCHIVE].find_one({"_id": record_id})

    def latest(self, period: str, kind: str) -> dict[str, Any] | None:
        """The record of `kind` last issued for `period`, with its bytes."""
        found = self.db[ARCHIVE].find({"period": period, "kind": kind}).sort("issued_at", DESCENDING).limit(1)
        return next(iter(found), None)

    def list(self, period: str | None) -> list[dict[str, Any]]:
        """Records without their bytes, newest first."""
        query = {"period": period} if period else {}
        return list(self.db[ARCHIVE].find(query, {"content": 0}).sort("issued_at", DESCENDING))
