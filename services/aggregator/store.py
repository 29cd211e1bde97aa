"""Aggregator's store: compliance documents on MongoDB, one `_id` lookup per period."""

from __future__ import annotations

from typing import Any

from services.aggregator.domain import board_id

COMPLIANCE = "compliance"


class MongoBoardStore:
    """Whole-document reads and writes by `_id`; one writer (the single active consumer)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """A period's compliance document."""
        return self.db[COMPLIANCE].find_one({"_id": board_id(plan_id, period)})

    def put(self, board: dict[str, Any]) -> None:
        """Replace a period's compliance document."""
        self.db[COMPLIANCE].replace_one({"_id": board["_id"]}, board, upsert=True)
